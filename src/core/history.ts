/**
 * The versions the hub keeps after sync replaced or deleted them, and what restoring one writes.
 * Pure: the stores keep the rows, these decide which row a request means and what to commit.
 */
import type { EntryContent } from './entry.ts';
import { HUB_ID } from './resolve.ts';
import type { HeldVersion, HubWrite } from './settle.ts';
import { incrementVector, mergeVectors, type VersionVector } from './vector.ts';

/** Days a replaced or deleted version stays recoverable by default (`serve --history-days`). */
export const DEFAULT_HISTORY_DAYS = 7;

const DAY_MS = 24 * 3600_000;

/** One version of a path, the current one or one kept in history. */
export interface PathVersion {
  path: string;
  /** The workspace sequence at which the hub accepted it: the version's number. */
  seq: number;
  content: EntryContent;
  vector: VersionVector;
  agent: string;
  /** The hub's time when it accepted the version (ISO 8601). */
  at: string;
  /** When sync replaced or deleted it (absent for the current version). */
  replacedSeq?: number;
  replacedAt?: string;
}

/** What `restore` asks for: a version number, the version held just before a time, or the latest. */
export type RestoreChoice = { version: number } | { before: string } | { latest: true };

export type VersionPick = { ok: true; version: PathVersion } | { ok: false; code: string; message: string };

/**
 * The version a restore means, among `versions` (history and the current one, any order). Only
 * files and links can be restored; folders and deletions hold nothing to bring back.
 *
 * - `version N`: the version accepted at sequence N.
 * - `before T`: the newest version the hub accepted before T (by the hub's clock).
 * - `latest`: the newest version that is not the current one (undo the last change).
 */
export function pickVersion(
  path: string,
  versions: readonly PathVersion[],
  choice: RestoreChoice,
  currentSeq: number | undefined,
): VersionPick {
  const restorable = versions
    .filter((v) => v.content.kind === 'file' || v.content.kind === 'symlink')
    .sort((a, b) => b.seq - a.seq);
  if ('version' in choice) {
    const found = restorable.find((v) => v.seq === choice.version);
    return found
      ? { ok: true, version: found }
      : {
          ok: false,
          code: 'no-such-version',
          message: `${path} has no version ${choice.version} the hub keeps (see warmsync history ${path})`,
        };
  }
  if ('before' in choice) {
    const limit = Date.parse(choice.before);
    const found = restorable.find((v) => Date.parse(v.at) < limit);
    return found
      ? { ok: true, version: found }
      : {
          ok: false,
          code: 'no-such-version',
          message: `the hub keeps no version of ${path} from before ${choice.before}`,
        };
  }
  const found = restorable.find((v) => v.seq !== currentSeq);
  return found
    ? { ok: true, version: found }
    : { ok: false, code: 'no-history', message: `the hub keeps no earlier version of ${path}` };
}

/**
 * Restoring `version` at its path: a new version with its content, under a vector that dominates
 * the path's current one (so every agent applies it) and the restored one.
 */
export function planRestore(version: PathVersion, current: HeldVersion | undefined): HubWrite {
  return {
    path: version.path,
    content: version.content,
    vector: incrementVector(mergeVectors(current?.vector ?? {}, version.vector), HUB_ID),
    expectSeq: current?.seq,
  };
}

/** The time before which replaced versions and tombstones are past retention (ISO 8601). */
export function retentionCutoff(nowMs: number, days: number): string {
  return new Date(nowMs - days * DAY_MS).toISOString();
}

/**
 * The highest sequence a tombstone may have and still be dropped: below every active agent's
 * cursor, so no agent that is connected still needs it. An agent that was away and whose cursor
 * is below a dropped tombstone is told so (the page's `floor`) and reads the whole manifest.
 */
export function tombstoneSeqLimit(head: number, activeCursors: readonly number[]): number {
  return Math.min(head, ...activeCursors);
}
