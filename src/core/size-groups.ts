/**
 * Items cut into runs of at most `maxBytes` in all, in order; an item larger than that is a run
 * of its own. Envelopes of frames, packs of chunks and the writes of a pack are cut this way.
 *
 * @example
 * groupsBySize([3, 3, 3], (n) => n, 6) // [[3, 3], [3]]
 */
export function groupsBySize<T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (group.length > 0 && bytes + size > maxBytes) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
