/**
 * How the hub decides on one pushed change against the version it holds. Pure: the stores call it
 * inside their transaction and persist what it returns.
 */
import { conflictCopyPath } from './conflict.ts';
import { type EntryContent, exists, sameContent } from './entry.ts';
import {
  compareVectors,
  dominatesOrEquals,
  incrementVector,
  mergeVectors,
  type VersionVector,
} from './vector.ts';

/** The hub's own id in version vectors; it only appears when the hub settles a conflict. */
export const HUB_ID = '~hub';

export interface PushedChange {
  path: string;
  content: EntryContent;
  vector: VersionVector;
  agent: string;
}

export interface CurrentVersion {
  content: EntryContent;
  vector: VersionVector;
}

export type Resolution =
  /** Store the pushed version as is. */
  | { type: 'accept'; content: EntryContent; vector: VersionVector }
  /** Nothing to store: the hub already has this version, or a newer one that includes it. */
  | { type: 'noop'; reason: 'same-version' | 'superseded' }
  /**
   * Concurrent edits. `winner` is stored at the path with a vector that dominates both sides;
   * `copy`, when present, is the losing version kept at its own path.
   */
  | {
      type: 'conflict';
      winner: { content: EntryContent; vector: VersionVector };
      copy?: { path: string; content: EntryContent; vector: VersionVector };
      reason: 'modify-beats-delete' | 'first-to-hub-wins';
    };

/**
 * Decides on `change` given the hub's `current` version of the same path.
 *
 * Invariants: the result never discards content that exists on either side (modify beats delete,
 * and a losing modification is kept as a conflict copy); the winner's vector dominates both inputs,
 * so every agent, whichever side it was on, sees the result as newer and applies it.
 * The winner is deterministic: the version that reached the hub first keeps the path, because the
 * hub serialises pushes and every agent learns the same order from it.
 */
export function resolvePush(
  current: CurrentVersion | undefined,
  change: PushedChange,
  /**
   * The merged vectors of the tombstones the hub dropped from this workspace after retention. A
   * path with no entry may be one of them, and agents that applied its deletion hold that
   * tombstone's vector as their base: a version the hub accepts there must dominate it too, or
   * they would take it for an older concurrent edit and never apply it.
   */
  expired?: VersionVector,
): Resolution {
  if (!current) {
    if (!exists(change.content)) return { type: 'noop', reason: 'same-version' };
    if (expired && !dominatesOrEquals(change.vector, expired))
      return {
        type: 'accept',
        content: change.content,
        vector: incrementVector(mergeVectors(expired, change.vector), HUB_ID),
      };
    return { type: 'accept', content: change.content, vector: change.vector };
  }
  const order = compareVectors(change.vector, current.vector);
  if (order === 'after') return { type: 'accept', content: change.content, vector: change.vector };
  if (sameContent(current.content, change.content)) {
    if (order === 'before') return { type: 'noop', reason: 'superseded' };
    // Both sides made the same edit: no conflict, just a vector that covers both.
    if (order === 'equal') return { type: 'noop', reason: 'same-version' };
    return { type: 'accept', content: change.content, vector: mergeVectors(current.vector, change.vector) };
  }
  // Different content under a vector that is concurrent, equal or older. Equal and older cannot
  // come from an agent that kept its state (its counter never repeats a vector), so they mean a
  // lost or copied state, or a replayed request: the hub cannot know that the pushed content is
  // included in its version, so it keeps both rather than answer "unchanged" and let the agent
  // overwrite an edit it never saw.
  const vector = incrementVector(mergeVectors(current.vector, change.vector), HUB_ID);
  if (!exists(current.content)) {
    return { type: 'conflict', winner: { content: change.content, vector }, reason: 'modify-beats-delete' };
  }
  if (!exists(change.content)) {
    return { type: 'conflict', winner: { content: current.content, vector }, reason: 'modify-beats-delete' };
  }
  const winner = { content: current.content, vector };
  // A losing empty folder holds nothing to keep; everything else is kept beside the winner.
  if (change.content.kind === 'dir') return { type: 'conflict', winner, reason: 'first-to-hub-wins' };
  const copyHash = change.content.kind === 'file' ? change.content.hash : symlinkTag(change.content);
  return {
    type: 'conflict',
    winner,
    copy: {
      path: conflictCopyPath(change.path, change.agent, copyHash),
      content: change.content,
      vector: { [change.agent]: 1 },
    },
    reason: 'first-to-hub-wins',
  };
}

function symlinkTag(content: EntryContent): string {
  const target = content.kind === 'symlink' ? content.target : '';
  let h = 0x811c9dc5;
  for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
