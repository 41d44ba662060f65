/**
 * Version vectors: per file, a map from agent id to the number of edits that agent made.
 * They order versions causally without any clock, so two machines with skewed clocks can never
 * make an old version win, and concurrent edits are detected instead of one silently overwriting
 * the other.
 */

/**
 * Agent id -> counter. Absent ids count as 0. Only own properties count: every function here reads
 * and builds vectors through `Object.hasOwn` and `Object.fromEntries`, so an id that names an
 * Object.prototype member (`constructor`, `__proto__`, `toString`) is an ordinary id, never an
 * inherited function that turns a counter into NaN (stored as null).
 */
export type VersionVector = Readonly<Record<string, number>>;

/**
 * The highest counter a pushed vector may hold. A stored vector must stay readable (every counter
 * at most 2^53 - 1, where a JSON number is still exact), yet the hub raises its own entry by one
 * each time it settles a conflict on a path: a push carrying `~hub` at 2^53 - 1 made it store
 * 2^53, and every catch-up page holding that entry was refused by every agent, so the whole
 * workspace stopped syncing. The 2^21 left above this bound are that many hub writes to one path;
 * real counters stay far below it.
 */
export const MAX_PUSHED_COUNTER = Number.MAX_SAFE_INTEGER - 2 ** 21;

/** The id of a counter in `v` above MAX_PUSHED_COUNTER, if `v` has one. */
export function counterPastBound(v: VersionVector): string | undefined {
  return Object.keys(v).find((id) => counterOf(v, id) > MAX_PUSHED_COUNTER);
}

/** The counter of `id` in `v`; 0 when `v` has no own entry for it. */
export function counterOf(v: VersionVector, id: string): number {
  return Object.hasOwn(v, id) ? (v[id] ?? 0) : 0;
}

/** How `a` relates to `b`. */
export type VectorOrder = 'equal' | 'before' | 'after' | 'concurrent';

/** Compares two vectors: 'before' means every counter of a is <= b's and one is smaller. */
export function compareVectors(a: VersionVector, b: VersionVector): VectorOrder {
  let aBigger = false;
  let bBigger = false;
  for (const id of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = counterOf(a, id);
    const y = counterOf(b, id);
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
  const out = new Map(Object.entries(a));
  for (const [id, n] of Object.entries(b)) out.set(id, Math.max(out.get(id) ?? 0, n));
  return Object.fromEntries(out);
}

/** `v` with `agentId`'s counter raised by one: the vector of a new edit made by that agent. */
export function incrementVector(v: VersionVector, agentId: string): VersionVector {
  const out = new Map(Object.entries(v));
  out.set(agentId, counterOf(v, agentId) + 1);
  return Object.fromEntries(out);
}

/** True when `a` is equal to or causally after `b` (a already includes everything b saw). */
export function dominatesOrEquals(a: VersionVector, b: VersionVector): boolean {
  const order = compareVectors(a, b);
  return order === 'after' || order === 'equal';
}
