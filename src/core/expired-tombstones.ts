/**
 * What an agent does when the hub no longer holds every deletion after its cursor: the hub drops
 * tombstones once they are past retention and below every active agent's cursor, and tells an
 * agent whose cursor is older (`floor` in each page of changes). The agent then reads the whole
 * manifest; a path it knows that is not in it was deleted. Pure, with a table test.
 */
import { DELETED, exists, type ManifestEntry } from './entry.ts';
import type { BaseVersion } from './reconcile.ts';
import { HUB_ID } from './resolve.ts';
import { incrementVector } from './vector.ts';

/** True when a page's `floor` says entries after `since` may be missing from it. */
export function cursorBelowFloor(since: number, floor: number | undefined): boolean {
  return floor !== undefined && since > 0 && since < floor;
}

/**
 * The deletions a full read from zero left out: for each base that holds something and whose path
 * the hub no longer lists, a remote tombstone that is newer than the base. Reconciled as usual, it
 * deletes the local copy when the disk still holds the base, and loses to a local edit (which is
 * pushed, modify beating delete) otherwise; a deletion is therefore never missed, and never wins
 * over an edit the hub has not seen.
 *
 * Invariants: `present` holds every path of the hub's manifest (the full read is complete);
 * hub entries leave the manifest only when their tombstone expires, so absence means deleted.
 */
export function expiredDeletions(
  bases: Iterable<readonly [string, BaseVersion]>,
  present: ReadonlySet<string>,
  seq: number,
): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const [path, base] of bases) {
    if (present.has(path) || !exists(base.content)) continue;
    out.push({ path, content: DELETED, vector: incrementVector(base.vector, HUB_ID), seq, agent: HUB_ID });
  }
  return out;
}
