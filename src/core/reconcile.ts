/**
 * The agent's decision for one path, from three versions:
 * - base: what the agent and the hub last agreed on (undefined: never seen),
 * - local: what the disk holds now,
 * - remote: the newest version the hub announced (undefined: nothing new).
 *
 * Pure, so every case is a row in a table test.
 */
import { DELETED, type EntryContent, sameContent } from './entry.ts';
import { compareVectors, incrementVector, type VersionVector } from './vector.ts';

export interface BaseVersion {
  content: EntryContent;
  vector: VersionVector;
}

export interface RemoteVersion {
  content: EntryContent;
  vector: VersionVector;
}

export type Decision =
  | { type: 'nothing' }
  /** Local edit to send; `vector` is the new version's vector. */
  | { type: 'push'; content: EntryContent; vector: VersionVector }
  /** Write the remote version to disk; the local side still holds the base, so nothing is lost. */
  | { type: 'apply'; content: EntryContent; vector: VersionVector }
  /** The disk already holds the remote content: only record the remote vector as the new base. */
  | { type: 'adopt'; vector: VersionVector };

/**
 * Decides what to do with one path.
 *
 * Invariants: 'apply' is returned only when the local content equals the base, so writing the
 * remote version never destroys an edit the hub has not seen. When both sides changed, the local
 * edit is pushed with a vector concurrent to the remote one, and the hub turns that into a
 * conflict with a kept copy; the agent applies the hub's verdict afterwards.
 */
export function reconcilePath(
  agentId: string,
  base: BaseVersion | undefined,
  local: EntryContent,
  remote: RemoteVersion | undefined,
): Decision {
  const baseContent = base?.content ?? DELETED;
  const baseVector = base?.vector ?? {};
  const localChanged = !sameContent(local, baseContent);
  const remoteChanged = remote !== undefined && compareVectors(remote.vector, baseVector) === 'after';
  if (!remoteChanged) {
    if (!localChanged) return { type: 'nothing' };
    return { type: 'push', content: local, vector: incrementVector(baseVector, agentId) };
  }
  if (sameContent(local, remote.content)) return { type: 'adopt', vector: remote.vector };
  if (!localChanged) return { type: 'apply', content: remote.content, vector: remote.vector };
  return { type: 'push', content: local, vector: incrementVector(baseVector, agentId) };
}
