/**
 * The decisions of one agent cycle, as pure functions over plain data: what each observed path
 * leads to, and how far the cursor may move once the cycle is done. The agent observes the paths,
 * settles interrupted writes (core/intent.ts), feeds the results in here and performs the steps
 * these functions return; every case is a row in a table test.
 *
 * Invariants the agent relies on:
 * - a remote version is written ('apply') only where reconcile says the disk holds the base, and
 *   never over a path whose state cannot be seen (`unknown`): nothing the hub lacks is destroyed;
 * - a remote version leaves `pending` only when it is on disk, adopted, superseded or deferred,
 *   so the cursor (`cursorAfterCycle`) never moves past a version that was merely skipped.
 */
import type { EntryContent, ManifestEntry } from './entry.ts';
import type { IgnoreRules } from './ignore.ts';
import { dropsIgnoredRemote } from './ignored-remote.ts';
import { decideUnderMode } from './mode-decision.ts';
import { type BaseVersion, reconcilePath } from './reconcile.ts';
import { type ModePolicy, policyOf } from './sync-mode.ts';
import type { VersionVector } from './vector.ts';

/** What the cycle knows about one observed path. */
export interface PathInput {
  path: string;
  /** What the disk holds now (meaningless when `unknown` is set). */
  local: EntryContent;
  /** Why the path could not be looked at: its state is unknown, which is never a deletion. */
  unknown?: string;
  /** The observation re-read the file and took its stat: that stat may be recorded. */
  reread: boolean;
  /** The path's base, once a write that a kill may have cut short is settled. */
  base: BaseVersion | undefined;
  /** The newest remote version announced and not yet applied or superseded. */
  remote: ManifestEntry | undefined;
  /** When `remote` is deferred (it failed before), the wall-clock ms of its next try. */
  retryAt?: number;
  /** The hub refused exactly the local content for this path before. */
  refused: boolean;
  /** What the path's sync mode allows (default: two-way). */
  policy?: ModePolicy;
  /** The remote version the mode withheld from this path in an earlier cycle. */
  withheld?: ManifestEntry;
}

/** What the cycle does for one path. */
export type PathStep =
  /** Nothing now: the state cannot be seen, the hub refused this content, or a retry is not due. */
  | { type: 'leave' }
  /** The path's state is unknown: keep its remote version, retry later, let the cursor move on. */
  | { type: 'defer'; entry: ManifestEntry; problem: string }
  /** A remote version of an ignored path that would cost a local file: forget it. */
  | { type: 'drop-remote' }
  /**
   * Disk and base agree. `settlesRemote`: the waiting remote version is not newer and is done
   * with. `refreshStat`: record the fresh stat, which settles a "racy" one and spares a read.
   */
  | { type: 'nothing'; settlesRemote: boolean; refreshStat: boolean }
  /** The disk already holds the remote content: it becomes the base under `vector`. */
  | { type: 'adopt'; content: EntryContent; vector: VersionVector }
  /** A local edit to send as the version `vector`. */
  | { type: 'push'; content: EntryContent; vector: VersionVector }
  /** Write the remote version to disk (or, for a replica, the workspace's over a local edit). */
  | { type: 'apply'; entry: ManifestEntry }
  /** A local edit the mode keeps local (receive-only); `withhold` is a remote version set aside. */
  | { type: 'keep-local'; withhold?: ManifestEntry }
  /** A remote version the mode does not write here (send-only), set aside. */
  | { type: 'skip-remote'; withhold?: ManifestEntry };

/** What the cycle does, path by path, in the order the paths were observed. */
export interface CyclePlan {
  push: Array<{ path: string; content: EntryContent; vector: VersionVector }>;
  apply: ManifestEntry[];
  defer: Array<{ entry: ManifestEntry; problem: string }>;
  adopt: Array<{ path: string; content: EntryContent; vector: VersionVector }>;
  /** Paths whose remote version is done with without a write ('nothing', 'drop-remote'). */
  settled: string[];
  /** Paths whose fresh stat is recorded on their base. */
  refreshStat: string[];
  /** Paths whose local edit the mode keeps local. */
  keptLocal: string[];
  /** Remote versions the mode withholds: out of `pending`, kept in the state. */
  withhold: ManifestEntry[];
  /** Paths whose withheld version is done with (written, superseded, agreed on). */
  release: string[];
}

/**
 * Decides one path. The order of the checks is the order of precedence: an unknown state stops
 * everything, an ignored remote version is dropped before it is reconciled, and reconcile decides
 * the rest.
 *
 * @example planPath('laptop', now, rules, { path: 'a', local: DELETED, reread: false, base: undefined, remote: undefined, refused: false }) // leave
 */
export function planPath(agentId: string, now: number, rules: IgnoreRules, input: PathInput): PathStep {
  const { path, local, base, remote } = input;
  if (input.unknown !== undefined) {
    // Nothing is pushed and nothing is written over it; a remote version waits (deferred) so the
    // cursor can move on, and everything is tried again later.
    return remote ? { type: 'defer', entry: remote, problem: input.unknown } : { type: 'leave' };
  }
  if (remote && dropsIgnoredRemote(rules, path, local, base?.content, remote.content))
    return { type: 'drop-remote' };
  // The workspace's version: announced now, or withheld earlier by this path's mode.
  const known = remote ?? input.withheld;
  const decision = decideUnderMode(
    input.policy ?? TWO_WAY,
    reconcilePath(agentId, base, local, known),
    agentId,
    base,
    known,
  );
  switch (decision.type) {
    case 'keep-local':
      return remote ? { type: 'keep-local', withhold: remote } : { type: 'keep-local' };
    case 'skip-remote':
      return remote ? { type: 'skip-remote', withhold: remote } : { type: 'skip-remote' };
    case 'overwrite':
      // Replica: the workspace's version replaces the local edit (a local-only file is removed).
      return {
        type: 'apply',
        entry:
          decision.fromRemote && known
            ? known
            : { path, content: decision.content, vector: decision.vector, seq: 0, agent: agentId },
      };
    case 'nothing':
      return {
        type: 'nothing',
        settlesRemote: remote !== undefined,
        // Only a re-read file: unchanged stats are not rewritten (idle scans write nothing).
        refreshStat: base !== undefined && input.reread && local.kind === 'file',
      };
    case 'adopt':
      return { type: 'adopt', content: local, vector: decision.vector };
    case 'push':
      // Unchanged content the hub refused (a case collision...) is not sent again and again.
      if (input.refused) return { type: 'leave' };
      return { type: 'push', content: decision.content, vector: decision.vector };
    case 'apply':
      // reconcile applies only a remote version; a deferred one waits for its turn (backoff).
      if (!known || (input.retryAt !== undefined && input.retryAt > now)) return { type: 'leave' };
      return { type: 'apply', entry: known };
  }
}

const TWO_WAY = policyOf('two-way');

/** Decides every path of a cycle (see `planPath`), grouped by what is to be done. */
export function planCycle(
  agentId: string,
  now: number,
  rules: IgnoreRules,
  inputs: Iterable<PathInput>,
): CyclePlan {
  const plan: CyclePlan = {
    push: [],
    apply: [],
    defer: [],
    adopt: [],
    settled: [],
    refreshStat: [],
    keptLocal: [],
    withhold: [],
    release: [],
  };
  for (const input of inputs) {
    const step = planPath(agentId, now, rules, input);
    // A withheld version is done with by any step but the two that keep withholding it (and
    // 'leave', which decides nothing; 'defer' keeps it too, as the path's state is unknown).
    const keeps = ['keep-local', 'skip-remote', 'leave', 'defer'].includes(step.type);
    if (input.withheld && !keeps) plan.release.push(input.path);
    switch (step.type) {
      case 'keep-local':
        plan.keptLocal.push(input.path);
        if (step.withhold) plan.withhold.push(step.withhold);
        break;
      case 'skip-remote':
        if (step.withhold) plan.withhold.push(step.withhold);
        break;
      case 'leave':
        break;
      case 'defer':
        plan.defer.push({ entry: step.entry, problem: step.problem });
        break;
      case 'drop-remote':
        plan.settled.push(input.path);
        break;
      case 'nothing':
        if (step.settlesRemote) plan.settled.push(input.path);
        if (step.refreshStat) plan.refreshStat.push(input.path);
        break;
      case 'adopt':
        plan.adopt.push({ path: input.path, content: step.content, vector: step.vector });
        break;
      case 'push':
        plan.push.push({ path: input.path, content: step.content, vector: { ...step.vector } });
        break;
      case 'apply':
        plan.apply.push(step.entry);
        break;
    }
  }
  return plan;
}

/**
 * True when an observation made right after a watcher event may have landed in the middle of a
 * save: the file changed while it was read, or was just emptied before its new bytes arrive.
 */
export function looksMidWrite(
  local: EntryContent,
  unsettled: boolean,
  base: EntryContent | undefined,
): boolean {
  const emptied = local.kind === 'file' && local.size === 0 && base?.kind === 'file' && base.size > 0;
  return unsettled || emptied;
}

/**
 * Gives each push, in order, a fresh value of the agent's durable counter (`first`, `first + 1`...)
 * as its own entry in the vector, never lower than the entry it has: a vector is never reused.
 */
export function withOwnCounters(
  vectors: readonly VersionVector[],
  agentId: string,
  first: number,
): VersionVector[] {
  return vectors.map((vector, i) => ({ ...vector, [agentId]: Math.max(vector[agentId] ?? 0, first + i) }));
}

/** True when `entry` is the very version kept as deferred for its path. */
export function isDeferred(
  entry: ManifestEntry,
  deferred: ReadonlyMap<string, { entry: { seq: number } }>,
): boolean {
  return deferred.get(entry.path)?.entry.seq === entry.seq;
}

/**
 * The cursor once a cycle is done: up to the highest sequence seen, but below every remote
 * version still waiting, except the deferred ones (kept in the state, so nothing is dropped when
 * the cursor moves past them). It never moves back.
 */
export function cursorAfterCycle(
  cursor: number,
  highestSeen: number,
  pending: Iterable<ManifestEntry>,
  deferred: ReadonlyMap<string, { entry: { seq: number } }>,
): number {
  let next = highestSeen;
  for (const entry of pending) if (!isDeferred(entry, deferred)) next = Math.min(next, entry.seq - 1);
  return Math.max(cursor, next);
}
