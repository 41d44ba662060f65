/** groupsBySize: items cut in order into runs of at most a size, an oversized item alone. */
import { describe, expect, it } from 'bun:test';
import { groupsBySize } from '../../src/core/size-groups.ts';

const size = (n: number) => n;

describe('groupsBySize', () => {
  it.each<{ items: number[]; max: number; groups: number[][] }>([
    { items: [], max: 6, groups: [] },
    { items: [3, 3, 3], max: 6, groups: [[3, 3], [3]] },
    { items: [6, 1], max: 6, groups: [[6], [1]] },
    { items: [10, 1, 1], max: 6, groups: [[10], [1, 1]] },
    { items: [1, 10, 1], max: 6, groups: [[1], [10], [1]] },
    { items: [0, 0, 6], max: 6, groups: [[0, 0, 6]] },
  ])('cuts $items at $max into $groups', ({ items, max, groups }) => {
    expect(groupsBySize(items, size, max)).toEqual(groups);
  });
});
