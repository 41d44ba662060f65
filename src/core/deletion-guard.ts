/**
 * The safety halt: a cycle that would delete most of what the agent knows is far more often an
 * accident (a volume not mounted, a `rm -rf` in the wrong folder, a tool emptying the tree) than
 * an intent, and deletions pushed to the hub are applied by every peer. Such deletions are held
 * until the user lets them go (`warmsync resume DIR --allow-deletes`).
 */

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
