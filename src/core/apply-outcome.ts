/**
 * What the agent does after trying to write one remote version, as a pure function of the
 * outcome, so that every case is a row in a table test.
 *
 * Invariants the agent relies on:
 * - a remote version leaves `pending` only when it is on disk, superseded, or deferred; a deferred
 *   version is kept in the agent's state and retried, so the cursor may move past it and still
 *   nothing is dropped;
 * - a local edit found in the way is never overwritten: the path is observed again and pushed.
 */

/** Why a remote version could not be written. */
export type ApplyFailureCode =
  | 'local-changed'
  | 'symlink-in-path'
  | 'not-a-folder'
  | 'folder-not-empty'
  | 'case-clash'
  | 'io-error'
  | 'missing-chunks'
  | 'unknown-local';

export interface ApplyFailure {
  code: ApplyFailureCode;
  message: string;
  /** Whether trying again later may succeed. */
  retry: boolean;
  /** The remote version is a deletion. */
  deletion: boolean;
}

export type AfterApply =
  /** Look at the path again now: the local edit found there is pushed (a conflict if need be). */
  | { type: 'observe-again' }
  /** A deletion of a folder that still holds ignored or new things: keep it, take the version. */
  | { type: 'keep-folder' }
  /** Keep the version, retry it later with backoff, let the cursor move on; report it meanwhile. */
  | { type: 'defer'; problem: string }
  /** The version cannot apply as long as the tree stays as it is: report it and let it go. */
  | { type: 'give-up'; problem: string };

export function afterApplyFailure(failure: ApplyFailure): AfterApply {
  switch (failure.code) {
    case 'local-changed':
      return { type: 'observe-again' };
    case 'folder-not-empty':
      return failure.deletion ? { type: 'keep-folder' } : { type: 'defer', problem: failure.message };
    case 'symlink-in-path':
    // A link where the hub has a folder: nothing is written through it, but the link may yet give
    // way to the folder (the conflict that the link makes is settled in the folder's favour).
    case 'not-a-folder':
    // Where names fold, another spelling of the path holds a different entry (a local file not
    // pushed yet, a deletion not applied yet); once that entry goes, the name is free.
    case 'case-clash':
    case 'io-error':
    case 'missing-chunks':
    case 'unknown-local':
      return failure.retry
        ? { type: 'defer', problem: failure.message }
        : { type: 'give-up', problem: failure.message };
  }
}

/** Backoff of deferred versions: 1 s, doubling, at most 5 minutes. */
export function deferralDelayMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), 300_000);
}
