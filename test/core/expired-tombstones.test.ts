import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import { cursorBelowFloor, expiredDeletions } from '../../src/core/expired-tombstones.ts';
import type { BaseVersion } from '../../src/core/reconcile.ts';
import { reconcilePath } from '../../src/core/reconcile.ts';

const FILE: EntryContent = {
  kind: 'file',
  hash: '1'.repeat(64),
  size: 1,
  exec: false,
  chunks: [['1'.repeat(64), 1]],
};
const EDITED: EntryContent = { ...FILE, hash: '2'.repeat(64), chunks: [['2'.repeat(64), 1]] };
const base = (content: EntryContent): BaseVersion => ({ content, vector: { aaaaaaaa: 3 } });

describe('cursorBelowFloor', () => {
  const cases: Array<[since: number, floor: number | undefined, below: boolean]> = [
    [10, undefined, false],
    [10, 0, false],
    [10, 10, false],
    [9, 10, true],
    // A read from zero is the whole manifest: nothing can be missing from it.
    [0, 10, false],
  ];
  for (const [since, floor, below] of cases)
    it(`since ${since}, floor ${floor}: ${below ? 'read again from zero' : 'read on'}`, () =>
      expect(cursorBelowFloor(since, floor)).toBe(below));
});

describe('expiredDeletions', () => {
  const bases: Array<[string, BaseVersion]> = [
    ['kept.txt', base(FILE)],
    ['gone.txt', base(FILE)],
    ['gone-dir', base({ kind: 'dir' })],
    ['was-deleted.txt', base(DELETED)],
  ];
  const deletions = expiredDeletions(bases, new Set(['kept.txt']), 42);

  it('deletes every known path the hub no longer lists, and nothing it lists or that is gone already', () =>
    expect(deletions.map((d) => d.path)).toEqual(['gone.txt', 'gone-dir']));

  it('deletes a local copy that still holds the base', () => {
    const gone = deletions[0]!;
    expect(reconcilePath('aaaaaaaa', base(FILE), FILE, gone)).toMatchObject({
      type: 'apply',
      content: DELETED,
    });
  });

  it('loses to a local edit the hub has not seen, which is pushed instead', () => {
    const gone = deletions[0]!;
    expect(reconcilePath('aaaaaaaa', base(FILE), EDITED, gone)).toMatchObject({
      type: 'push',
      content: EDITED,
    });
  });

  it('numbers the deletions at the floor, so the cursor waits for them', () =>
    expect(deletions.every((d) => d.seq === 42)).toBe(true));
});
