/**
 * Intents: what an agent was about to make a path hold when it may have been killed.
 *
 * An agent records the outcome of a push or of a write as the path's new base only at the end of
 * its cycle, after the hub answered or the rename reached the disk. A kill in between leaves the
 * old base beside a hub or a disk that already holds the new version, and the old base then
 * misleads reconciliation:
 * - a push the hub took comes back as a "remote" version; when the local copy was deleted or
 *   edited back to the old base meanwhile, local equals base and the agent writes its own old
 *   version over that edit (a lost edit);
 * - a remote version renamed into place looks like a local edit; when the hub has moved on, it is
 *   pushed against the newer version and becomes a conflict copy nobody made.
 * So before either step the agent durably records each version as an intent, and the first
 * reconciliation of the path afterwards settles it with `recoverBase`.
 */
import { type EntryContent, sameContent } from './entry.ts';
import type { BaseVersion, RemoteVersion } from './reconcile.ts';
import { compareVectors, dominatesOrEquals } from './vector.ts';

export interface Intent extends BaseVersion {
  /** 'push': sent to the hub as this path's new version; 'apply': about to be written here. */
  op: 'push' | 'apply';
}

/**
 * The base to reconcile `local` and `remote` against, given the intent left for the path.
 *
 * Invariants: an intent's vector is after the base it was made from (a push increments the base's
 * vector, a write is only of a remote version after the base), and recording any base drops the
 * path's intent, so an intent describes a step beyond the base that may or may not have happened:
 * - a push happened when the hub holds its version or one made from it: every later version of
 *   the path the hub accepts or settles dominates it, and no other agent can reach this agent's
 *   counter (the hub's version then always follows the agent's cursor, so it is in `remote`);
 * - a write happened when the disk holds its content (or someone wrote the same content, which
 *   the same base describes just as well).
 * Anything else keeps the base: the push never reached the hub, or the write never the disk.
 */
export function recoverBase(
  base: BaseVersion | undefined,
  intent: Intent,
  local: EntryContent,
  remote: RemoteVersion | undefined,
): BaseVersion | undefined {
  // An intent no newer than the base describes nothing the base lacks.
  if (base && compareVectors(intent.vector, base.vector) !== 'after') return base;
  const happened =
    intent.op === 'push'
      ? remote !== undefined && dominatesOrEquals(remote.vector, intent.vector)
      : sameContent(local, intent.content);
  return happened ? { content: intent.content, vector: intent.vector } : base;
}
