/**
 * Changes the hub makes on its own account: settling conflicts (`resolve`), dropping the copies of
 * a path over the cap, restoring a version from history. Each reads what the paths hold, asks the
 * pure rules in core (settle.ts, history.ts) what to write, commits it if nothing moved meanwhile
 * (else reads and plans again), tells every agent of the workspace, and writes the audit log.
 */
import { exists } from '../core/entry.ts';
import { encodeEnvelope } from '../core/frames.ts';
import { type PathVersion, pickVersion, planRestore, type RestoreChoice } from '../core/history.ts';
import { parentPath } from '../core/paths.ts';
import type { LiveHeader } from '../core/protocol.ts';
import { HUB_ID } from '../core/resolve.ts';
import {
  type ConflictRecord,
  copiesOverCap,
  type HeldVersion,
  type HubWrite,
  type KeepChoice,
  planSettlement,
  selectConflicts,
  settlementOrder,
} from '../core/settle.ts';
import type { ResolveRequest, ResolveResult } from '../core/settle-protocol.ts';
import type { Hub } from './hub.ts';
import type { AuditRecord, Store } from './store/store.ts';

export interface SettleDeps {
  store: Store;
  hub: Hub;
  /** Conflict copies kept per path; past it the oldest are deleted into history. */
  copiesPerPath: number;
}

/** Rounds of planning before giving up on a workspace that keeps moving under the plan. */
const MAX_ROUNDS = 8;

/** A hub-side change that cannot be made as asked: answered 404 or 409 with its message. */
export class SettleError extends Error {
  constructor(
    readonly code: 'no-such-version' | 'no-history' | 'blocked' | 'busy',
    message: string,
  ) {
    super(message);
    this.name = 'SettleError';
  }
}

/** The version `path` holds now, from the durable store (history() includes the current row). */
function held(versions: readonly PathVersion[]): HeldVersion | undefined {
  const current = versions.find((v) => v.replacedSeq === undefined);
  return current && { content: current.content, vector: current.vector, seq: current.seq };
}

async function heldVersion(store: Store, workspace: string, path: string): Promise<HeldVersion | undefined> {
  return held(await store.history(workspace, path));
}

interface Planned {
  writes: HubWrite[];
  settle: Array<{ copyPath: string; how: string }>;
}

/**
 * Plans and commits until a plan commits on the manifest it was made from; broadcasts the new
 * entries. Returns the head after the commit (undefined when there was nothing to write).
 */
async function commitPlanned(
  deps: SettleDeps,
  workspace: string,
  plan: () => Promise<Planned>,
): Promise<number | undefined> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const planned = await plan();
    if (planned.writes.length === 0 && planned.settle.length === 0) return undefined;
    const outcome = await deps.store.commitHub({ workspace, ...planned });
    if (outcome.stale) continue;
    if (outcome.entries.length > 0) {
      const from = outcome.entries[0]!.seq;
      const live: LiveHeader = {
        type: 'entries',
        from,
        to: outcome.head,
        origin: HUB_ID,
        batch: 'edits',
        entries: outcome.entries,
      };
      // No inline bytes: the content is on the hub already and peers fetch what they lack.
      deps.hub.broadcast(workspace, encodeEnvelope(live, []), {
        from,
        to: outcome.head,
        origin: HUB_ID,
        receivedAt: performance.now(),
      });
    }
    return outcome.head;
  }
  throw new SettleError('busy', `workspace ${workspace} kept changing while the hub planned this; try again`);
}

/**
 * Settles the conflicts `request` names, all in one commit. A name that matches no open conflict,
 * or a conflict that cannot be settled as asked, is reported in the results and the others go on.
 */
export async function resolveConflicts(
  deps: SettleDeps,
  workspace: string,
  request: ResolveRequest,
  actor: string,
): Promise<{ head: number; results: ResolveResult[]; audit: AuditRecord[] }> {
  let results: ResolveResult[] = [];
  const head = await commitPlanned(deps, workspace, async () => {
    results = [];
    const open = await deps.store.conflicts(workspace);
    const { selected, unmatched } = selectConflicts(
      open,
      'all' in request ? { all: true } : { paths: request.paths },
    );
    for (const path of unmatched)
      results.push({ path, status: 'refused', code: 'no-conflict', message: `${path} has no open conflict` });
    const planned: Planned = { writes: [], settle: [] };
    for (const { record, keep } of settlementOrder(selected, request.keep)) {
      const step = await planOne(deps.store, workspace, record, keep);
      if (!step.ok) {
        results.push({ path: record.path, copyPath: record.copyPath, status: 'refused', ...step });
        continue;
      }
      planned.writes.push(...step.writes);
      planned.settle.push({ copyPath: record.copyPath, how: `keep-${keep}` });
      results.push({
        path: record.path,
        copyPath: record.copyPath,
        status: 'settled',
        keep,
        message: step.detail,
      });
    }
    return planned;
  });
  const now = head ?? (await deps.store.changesSince(workspace, Number.MAX_SAFE_INTEGER, 1)).head;
  const audit = results
    .filter((r) => r.status === 'settled')
    .map((r) => ({
      workspace,
      agent: actor,
      op: 'resolve' as const,
      path: r.path,
      bytes: 0,
      durationMs: 0,
      detail: `keep=${r.keep} copy=${r.copyPath}`,
    }));
  await deps.store.audit(audit);
  return { head: now, results, audit };
}

async function planOne(store: Store, workspace: string, record: ConflictRecord, keep: KeepChoice) {
  const [current, copy] = await Promise.all([
    heldVersion(store, workspace, record.path),
    heldVersion(store, workspace, record.copyPath),
  ]);
  return planSettlement(keep, current, copy, record);
}

/**
 * Deletes, into history, the oldest conflict copies of each of `paths` past the cap, and settles
 * their conflicts. Called after a commit that made new copies.
 */
export async function capConflictCopies(
  deps: SettleDeps,
  workspace: string,
  paths: ReadonlySet<string>,
): Promise<void> {
  let dropped: ConflictRecord[] = [];
  await commitPlanned(deps, workspace, async () => {
    const open = (await deps.store.conflicts(workspace)).filter((r) => paths.has(r.path));
    const byPath = new Map<string, ConflictRecord[]>();
    for (const r of open) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
    dropped = [...byPath.values()].flatMap((records) => copiesOverCap(records, deps.copiesPerPath));
    const planned: Planned = { writes: [], settle: [] };
    for (const record of dropped) {
      const step = await planOne(deps.store, workspace, record, 'current');
      if (!step.ok) continue;
      planned.writes.push(...step.writes);
      planned.settle.push({ copyPath: record.copyPath, how: 'over-cap' });
    }
    return planned;
  });
  await deps.store.audit(
    dropped.map((r) => ({
      workspace,
      agent: HUB_ID,
      op: 'resolve' as const,
      path: r.path,
      bytes: 0,
      durationMs: 0,
      detail: `over the cap of ${deps.copiesPerPath} copies: deleted copy=${r.copyPath} (kept in history)`,
    })),
  );
}

/**
 * Brings back a version of `path` from history as its new version on every agent. Refused when
 * no kept version matches, or when a file or link now stands where a folder above it would be.
 */
export async function restoreVersion(
  deps: SettleDeps,
  workspace: string,
  path: string,
  choice: RestoreChoice,
  actor: string,
): Promise<{ restored: number; seq: number; unchanged: boolean }> {
  let restored = 0;
  let unchanged = false;
  const head = await commitPlanned(deps, workspace, async () => {
    const versions = await deps.store.history(workspace, path);
    const current = held(versions);
    const pick = pickVersion(path, versions, choice, current?.seq);
    if (!pick.ok)
      throw new SettleError(pick.code === 'no-history' ? 'no-history' : 'no-such-version', pick.message);
    restored = pick.version.seq;
    unchanged = current !== undefined && current.seq === pick.version.seq;
    if (unchanged) return { writes: [], settle: [] };
    for (let folder = parentPath(path); folder !== ''; folder = parentPath(folder)) {
      const above = await deps.store.entry(workspace, folder);
      if (above && exists(above.content) && above.content.kind !== 'dir')
        throw new SettleError(
          'blocked',
          `${folder} is a ${above.content.kind} now; move it away to restore ${path}`,
        );
    }
    return { writes: [planRestore(pick.version, current)], settle: [] };
  });
  if (head !== undefined)
    await deps.store.audit([
      {
        workspace,
        agent: actor,
        op: 'restore',
        path,
        bytes: 0,
        durationMs: 0,
        detail: `version=${restored} seq=${head}`,
      },
    ]);
  return {
    restored,
    seq: head ?? (await deps.store.changesSince(workspace, Number.MAX_SAFE_INTEGER, 1)).head,
    unchanged,
  };
}
