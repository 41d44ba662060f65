/**
 * Version vectors: per file, a map from agent id to the number of edits that agent made.
 * They order versions causally without any clock, so two machines with skewed clocks can never
 * make an old version win, and concurrent edits are detected instead of one silently overwriting
 * the other.
 */

/** Agent id -> counter. Absent ids count as 0. */
export type VersionVector = Readonly<Record<string, number>>;

/** How `a` relates to `b`. */
export type VectorOrder = 'equal' | 'before' | 'after' | 'concurrent';

/** Compares two vectors: 'before' means every counter of a is <= b's and one is smaller. */
export function compareVectors(a: VersionVector, b: VersionVector): VectorOrder {
  let aBigger = false;
  let bBigger = false;
  for (const id of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[id] ?? 0;
    const y = b[id] ?? 0;
    if (x > y) aBigger = true;
    else if (y > x) bBigger = true;
  }
  if (aBigger && bBigger) return 'concurrent';
  if (aBigger) return 'after';
  if (bBigger) return 'before';
  return 'equal';
}

/** The least vector that dominates or equals both. */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  const out: Record<string, number> = { ...a };
  for (const [id, n] of Object.entries(b)) out[id] = Math.max(out[id] ?? 0, n);
  return out;
}

/** `v` with `agentId`'s counter raised by one: the vector of a new edit made by that agent. */
export function incrementVector(v: VersionVector, agentId: string): VersionVector {
  return { ...v, [agentId]: (v[agentId] ?? 0) + 1 };
}

/** True when `a` is equal to or causally after `b` (a already includes everything b saw). */
export function dominatesOrEquals(a: VersionVector, b: VersionVector): boolean {
  const order = compareVectors(a, b);
  return order === 'after' || order === 'equal';
}
