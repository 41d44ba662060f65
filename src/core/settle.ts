/**
 * Settling conflicts on the hub: what each way of resolving one changes in the manifest, and
 * which conflict copies a path keeps. Pure: the hub reads the versions, calls these, and commits
 * what they return in one transaction (which fails, and is planned again, when a path moved on
 * meanwhile).
 */
import { DELETED, type EntryContent, exists } from './entry.ts';
import { HUB_ID } from './resolve.ts';
import { incrementVector, mergeVectors, type VersionVector } from './vector.ts';

/** One conflict as the hub recorded it when it stored the losing version beside the path. */
export interface ConflictRecord {
  path: string;
  copyPath: string;
  /** The workspace sequence of the commit that made the conflict: the hub's order, no clock's. */
  seq: number;
  /** The hub's time of that commit (ISO 8601), for people; ordering uses `seq`. */
  at: string;
  /** The agent whose version kept the path, and the one whose version went to the copy. */
  keptAgent: string;
  copyAgent: string;
}

/** What `resolve --keep` asks for. */
export type KeepChoice = 'current' | 'copy' | 'both';

/** A path's version as the hub holds it now: `seq` is what the commit checks it still holds. */
export interface HeldVersion {
  content: EntryContent;
  vector: VersionVector;
  seq: number;
}

/** One version the hub writes on its own account; the commit checks `expectSeq` first. */
export interface HubWrite {
  path: string;
  content: EntryContent;
  vector: VersionVector;
  /** The sequence the path must still hold (undefined: no entry), else the plan is stale. */
  expectSeq: number | undefined;
}

export type SettlePlan =
  | { ok: true; writes: HubWrite[]; detail: string }
  | { ok: false; code: 'copy-gone' | 'path-gone'; message: string };

/**
 * What resolving one conflict writes.
 *
 * - `current`: the copy is deleted (it goes to history); the path stays as it is.
 * - `copy`: the copy's content becomes the path's new version and the copy is deleted. The new
 *   version's vector dominates both the path's and the copy's, so every agent takes it, whichever
 *   side of the conflict it was on.
 * - `both`: nothing is written; the copy stays as an ordinary file and the conflict is settled.
 *
 * Invariants: every written vector is the hub's increment of a merge that includes the version
 * it replaces, so agents see each write as newer than what they hold and apply it (an agent with
 * a local edit of the path pushes it, and that push is judged against the resolution as usual).
 * No content is lost: what a write replaces or deletes is kept in the path's history.
 */
export function planSettlement(
  keep: KeepChoice,
  current: HeldVersion | undefined,
  copy: HeldVersion | undefined,
  record: Pick<ConflictRecord, 'path' | 'copyPath'>,
): SettlePlan {
  if (keep === 'both') return { ok: true, writes: [], detail: 'kept both' };
  if (!copy || !exists(copy.content))
    return {
      ok: false,
      code: 'copy-gone',
      message: `the conflict copy ${record.copyPath} is no longer there`,
    };
  const deleteCopy: HubWrite = {
    path: record.copyPath,
    content: DELETED,
    vector: incrementVector(copy.vector, HUB_ID),
    expectSeq: copy.seq,
  };
  if (keep === 'current') return { ok: true, writes: [deleteCopy], detail: 'kept current, deleted the copy' };
  if (current && current.content.kind === 'dir' && copy.content.kind !== 'dir')
    return {
      ok: false,
      code: 'path-gone',
      message: `${record.path} is a folder now; move the copy by hand or keep both`,
    };
  const merged = mergeVectors(current?.vector ?? {}, copy.vector);
  return {
    ok: true,
    writes: [
      {
        path: record.path,
        content: copy.content,
        vector: incrementVector(merged, HUB_ID),
        expectSeq: current?.seq,
      },
      deleteCopy,
    ],
    detail: `kept the copy ${record.copyPath}`,
  };
}

/** Conflict copies kept per path by default; past it the oldest go (to history). */
export const DEFAULT_COPIES_PER_PATH = 10;

/**
 * The conflicts whose copies go when a path holds more than `cap` of them: the oldest by the hub's
 * commit sequence (never by a clock), so every replica and every run picks the same ones.
 *
 * @example copiesOverCap([{ seq: 3 }, { seq: 9 }, { seq: 5 }], 2) // [{ seq: 3 }]
 */
export function copiesOverCap<T extends Pick<ConflictRecord, 'seq' | 'copyPath'>>(
  records: readonly T[],
  cap: number,
): T[] {
  if (records.length <= cap) return [];
  const oldestFirst = [...records].sort((a, b) => a.seq - b.seq || a.copyPath.localeCompare(b.copyPath));
  return oldestFirst.slice(0, records.length - cap);
}

/**
 * The recorded conflicts that `resolve` names: each PATH matches a conflict by its path or its
 * copy's path; `all` takes every one. Also returns the names that match none, which the command
 * reports rather than ignores.
 */
export function selectConflicts<T extends Pick<ConflictRecord, 'path' | 'copyPath'>>(
  records: readonly T[],
  wanted: { all: true } | { paths: readonly string[] },
): { selected: T[]; unmatched: string[] } {
  if ('all' in wanted) return { selected: [...records], unmatched: [] };
  const names = new Set(wanted.paths);
  const selected = records.filter((r) => names.has(r.path) || names.has(r.copyPath));
  const matched = new Set(selected.flatMap((r) => [r.path, r.copyPath]));
  return { selected, unmatched: wanted.paths.filter((p) => !matched.has(p)) };
}

/**
 * Orders a path's settlements so that one `resolve --keep copy` over several copies of the same
 * path is well defined: the newest copy (highest sequence) is the one that ends at the path; the
 * older copies of that path are then settled as `current`, deleting them into history.
 */
export function settlementOrder<T extends Pick<ConflictRecord, 'path' | 'seq' | 'copyPath'>>(
  records: readonly T[],
  keep: KeepChoice,
): Array<{ record: T; keep: KeepChoice }> {
  if (keep !== 'copy') return records.map((record) => ({ record, keep }));
  const newest = new Map<string, T>();
  for (const r of records) {
    const best = newest.get(r.path);
    if (!best || r.seq > best.seq) newest.set(r.path, r);
  }
  return records.map((record) => ({
    record,
    keep: newest.get(record.path) === record ? 'copy' : 'current',
  }));
}
