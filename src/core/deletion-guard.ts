/**
 * The safety halt: a cycle that would delete most of what the agent knows is far more often an
 * accident (a volume not mounted, a `rm -rf` in the wrong folder, a tool emptying the tree) than
 * an intent, and deletions pushed to the hub are applied by every peer. Such deletions are held
 * until the user lets them go (`warmsync resume DIR --allow-deletes`).
 */
import type { EntryContent } from './entry.ts';

/** Above this many deleted files, deleting more than half of the known files holds the batch. */
export const MASS_DELETION_FILES = 100;
/**
 * Emptying a folder that held fewer files than this is ordinary work (deleting the last few
 * files of a small project), not the signature of a vanished mount.
 */
export const WHOLE_CONTENT_MIN_FILES = 10;

export interface DeletionBatch {
  /** Files (anything but folders) the cycle would push as deleted. */
  deletedFiles: number;
  /** Files the agent knows as live before the cycle (its bases that exist and are not folders). */
  knownFiles: number;
  /** Files the cycle would push that the agent did not know: new files keep the folder non-empty. */
  addedFiles: number;
}

export type DeletionVerdict = { type: 'allow' } | { type: 'hold'; reason: string };

/**
 * Decides whether a cycle's deletions may be pushed. Pure; the agent holds the deletions of a
 * cycle judged `hold` and pushes the rest of its changes.
 *
 * @example judgeDeletions({ deletedFiles: 150, knownFiles: 150, addedFiles: 0 }) // hold
 */
export function judgeDeletions(batch: DeletionBatch): DeletionVerdict {
  const { deletedFiles, knownFiles, addedFiles } = batch;
  if (deletedFiles === 0) return { type: 'allow' };
  const remaining = knownFiles - deletedFiles + addedFiles;
  if (remaining <= 0 && knownFiles >= WHOLE_CONTENT_MIN_FILES)
    return {
      type: 'hold',
      reason: `it would delete the folder's whole content (${deletedFiles} file(s))`,
    };
  if (deletedFiles > MASS_DELETION_FILES && deletedFiles * 2 > knownFiles)
    return {
      type: 'hold',
      reason: `it would delete ${deletedFiles} of the ${knownFiles} files known`,
    };
  return { type: 'allow' };
}

/** The halt as the agent keeps it between cycles. */
export interface HaltState {
  /** Why a cycle's deletions are held, and how many, until the user lets them go. */
  held?: { reason: string; deletions: number };
  /** `resume --allow-deletes`: the next cycle's deletions go whatever the guard says. */
  deletesAllowed: boolean;
}

/**
 * The agent's bases as the halt reads them: a path's content, and how many of them are live files
 * (kept as a count by their owner: counting 100,000 bases each cycle took tens of milliseconds).
 */
export interface KnownBases {
  get(path: string): { content: EntryContent } | undefined;
  /** Bases that exist and are not folders. */
  readonly liveFiles: number;
}

/** A change a cycle would push, as the halt sees it. */
export interface GuardedPush {
  path: string;
  content: EntryContent;
}

export interface GuardOutcome<P extends GuardedPush> {
  /** The pushes that may go: all of them, or all but the deletions. */
  allowed: P[];
  halt: HaltState;
  /** What to tell the user: the halt ended, or deletions are held (newly, or more or fewer). */
  announce?: 'cleared' | 'halted';
}

/**
 * The halt's transition over one cycle's pushes (see `judgeDeletions`). Deletions judged `hold`
 * stay local (their bases are kept, so every later scan sees them again) until they are let go. A
 * full cycle with no deletion clears the halt: the files came back, or the deletions went. A
 * partial cycle proves nothing about the rest of the tree, so it leaves an earlier halt standing.
 *
 * `bases` are the agent's bases as they stand when the pushes are judged: `knownFiles` is their live files.
 */
export function guardDeletions<P extends GuardedPush>(
  pushes: readonly P[],
  full: boolean,
  halt: HaltState,
  bases: KnownBases,
): GuardOutcome<P> {
  const isDeletion = (p: GuardedPush) => p.content.kind === 'deleted';
  const deletions = pushes.filter(isDeletion);
  if (deletions.length === 0) {
    if (!full) return { allowed: [...pushes], halt };
    return {
      allowed: [...pushes],
      halt: { deletesAllowed: halt.deletesAllowed },
      announce: halt.held ? 'cleared' : undefined,
    };
  }
  const baseOf = (path: string) => bases.get(path)?.content;
  const verdict = judgeDeletions({
    deletedFiles: deletions.filter((p) => isLiveFile(baseOf(p.path))).length,
    knownFiles: bases.liveFiles,
    addedFiles: pushes.filter((p) => isLiveFile(p.content) && !isLiveFile(baseOf(p.path))).length,
  });
  if (verdict.type === 'allow' || halt.deletesAllowed) {
    const cleared = full || verdict.type === 'hold';
    return { allowed: [...pushes], halt: { held: cleared ? undefined : halt.held, deletesAllowed: false } };
  }
  const held = { reason: verdict.reason, deletions: deletions.length };
  return {
    allowed: pushes.filter((p) => !isDeletion(p)),
    halt: { held, deletesAllowed: halt.deletesAllowed },
    announce: halt.held?.deletions !== deletions.length ? 'halted' : undefined,
  };
}

/** A file or symlink: what the halt counts (a folder holds nothing of its own). */
export function isLiveFile(content: EntryContent | undefined): boolean {
  return content !== undefined && content.kind !== 'deleted' && content.kind !== 'dir';
}

/** A plain map of bases as `KnownBases`, its live files counted once. */
export function knownBasesOf(bases: ReadonlyMap<string, { content: EntryContent }>): KnownBases {
  let liveFiles = 0;
  for (const base of bases.values()) if (isLiveFile(base.content)) liveFiles++;
  return { get: (path) => bases.get(path), liveFiles };
}
