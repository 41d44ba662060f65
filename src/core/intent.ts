/**
 * Intents: versions an agent has sent or begun to write whose outcome it has not recorded yet.
 *
 * An agent records the outcome of a push or of a write as the path's new base only once the hub
 * has answered or the rename has reached the disk. A kill in between, or an answer lost with a
 * hub that went away, leaves the old base beside a hub or a disk that may already hold the new
 * version, and the old base then misleads reconciliation:
 * - a push the hub took comes back later as a "remote" version; when the local copy was deleted
 *   or edited back to the old base meanwhile, local equals base and the agent writes its own
 *   pushed version over that edit (a lost edit);
 * - a remote version renamed into place looks like a local edit; when the hub has moved on, it is
 *   pushed against the newer version and becomes a conflict copy nobody made.
 * So before either step the agent records each version as an intent, and settles it once the
 * evidence is in: the hub's manifest for a push (`baseAfterPush`), the disk for a write
 * (`baseAfterWrite`).
 *
 * Invariant both rely on: an intent's vector is after the base it was made from (a push
 * increments the base's vector, a write is only of a remote version after the base). One that is
 * not newer than the path's base describes nothing the base lacks, and is dropped.
 */
import { type EntryContent, sameContent } from './entry.ts';
import type { BaseVersion, RemoteVersion } from './reconcile.ts';
import { compareVectors, dominatesOrEquals } from './vector.ts';

/** A version sent to the hub as the path's new one. */
export interface PushIntent extends BaseVersion {
  op: 'push';
  /** The agent's cursor when it was sent: the hub accepts it, if at all, at a later sequence. */
  since: number;
}

/** A remote version about to be written to the disk. */
export interface WriteIntent extends BaseVersion {
  op: 'apply';
}

export type Intent = PushIntent | WriteIntent;

/**
 * The base once the hub's manifest after `intent.since` is known: `hub` is its version of the
 * path accepted after that point, undefined when there is none. The push was taken exactly when
 * that version is the pushed one or was made from it: every later version of the path the hub
 * accepts or settles dominates it, and no other agent can reach this agent's counter. No version
 * after `since` means the push never reached the hub.
 */
export function baseAfterPush(
  base: BaseVersion | undefined,
  intent: PushIntent,
  hub: RemoteVersion | undefined,
): BaseVersion | undefined {
  if (stale(base, intent)) return base;
  return hub && dominatesOrEquals(hub.vector, intent.vector) ? version(intent) : base;
}

/**
 * The base once the disk has been looked at: the write happened when the disk holds its content
 * (or someone wrote the same content, which that base describes just as well).
 */
export function baseAfterWrite(
  base: BaseVersion | undefined,
  intent: WriteIntent,
  local: EntryContent,
): BaseVersion | undefined {
  if (stale(base, intent)) return base;
  return sameContent(local, intent.content) ? version(intent) : base;
}

function stale(base: BaseVersion | undefined, intent: Intent): boolean {
  return base !== undefined && compareVectors(intent.vector, base.vector) !== 'after';
}

function version(intent: Intent): BaseVersion {
  return { content: intent.content, vector: intent.vector };
}
