import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import { HUB_ID } from '../../src/core/resolve.ts';
import {
  copiesOverCap,
  type HeldVersion,
  type KeepChoice,
  planSettlement,
  selectConflicts,
  settlementOrder,
} from '../../src/core/settle.ts';
import { compareVectors } from '../../src/core/vector.ts';

const file = (digit: string): EntryContent => ({
  kind: 'file',
  hash: digit.repeat(64),
  size: 3,
  exec: false,
  chunks: [[digit.repeat(64), 3]],
});
const RECORD = { path: 'app.ts', copyPath: 'app.conflict-bbbbbbbb-22222222.ts' };
const CURRENT: HeldVersion = { content: file('1'), vector: { aaaaaaaa: 2, '~hub': 1 }, seq: 7 };
const COPY: HeldVersion = { content: file('2'), vector: { bbbbbbbb: 1, '~hub': 1 }, seq: 8 };

describe('planSettlement', () => {
  const cases: Array<
    [
      name: string,
      keep: KeepChoice,
      current: HeldVersion | undefined,
      copy: HeldVersion | undefined,
      expected: Array<{ path: string; content: EntryContent; expectSeq: number | undefined }> | string,
    ]
  > = [
    [
      'keep current deletes the copy',
      'current',
      CURRENT,
      COPY,
      [{ path: RECORD.copyPath, content: DELETED, expectSeq: 8 }],
    ],
    [
      'keep copy writes the copy at the path and deletes the copy',
      'copy',
      CURRENT,
      COPY,
      [
        { path: RECORD.path, content: file('2'), expectSeq: 7 },
        { path: RECORD.copyPath, content: DELETED, expectSeq: 8 },
      ],
    ],
    [
      'keep copy of a path deleted since brings the copy back there',
      'copy',
      { content: DELETED, vector: { aaaaaaaa: 3 }, seq: 9 },
      COPY,
      [
        { path: RECORD.path, content: file('2'), expectSeq: 9 },
        { path: RECORD.copyPath, content: DELETED, expectSeq: 8 },
      ],
    ],
    ['keep both writes nothing', 'both', CURRENT, COPY, []],
    ['keep both of a copy already gone still settles it', 'both', CURRENT, undefined, []],
    [
      'keep current of a copy deleted meanwhile is refused',
      'current',
      CURRENT,
      { ...COPY, content: DELETED },
      'copy-gone',
    ],
    ['keep copy of a copy with no entry is refused', 'copy', CURRENT, undefined, 'copy-gone'],
    [
      'keep copy over a folder is refused',
      'copy',
      { content: { kind: 'dir' }, vector: {}, seq: 3 },
      COPY,
      'path-gone',
    ],
  ];
  for (const [name, keep, current, copy, expected] of cases) {
    it(name, () => {
      const plan = planSettlement(keep, current, copy, RECORD);
      if (typeof expected === 'string') {
        expect(plan.ok ? 'ok' : plan.code).toBe(expected);
        return;
      }
      if (!plan.ok) throw new Error(plan.message);
      expect(plan.writes.map(({ path, content, expectSeq }) => ({ path, content, expectSeq }))).toEqual(
        expected,
      );
    });
  }

  it('gives every write a vector after what it replaces, so every agent applies it', () => {
    const plan = planSettlement('copy', CURRENT, COPY, RECORD);
    if (!plan.ok) throw new Error(plan.message);
    const [atPath, copyGone] = plan.writes;
    expect(compareVectors(atPath!.vector, CURRENT.vector)).toBe('after');
    expect(compareVectors(atPath!.vector, COPY.vector)).toBe('after');
    expect(compareVectors(copyGone!.vector, COPY.vector)).toBe('after');
    expect(atPath!.vector[HUB_ID]).toBe(2);
  });
});

describe('copiesOverCap', () => {
  const rec = (seq: number) => ({ seq, copyPath: `a.conflict-${seq}.ts` });
  const cases: Array<[name: string, seqs: number[], cap: number, dropped: number[]]> = [
    ['none under the cap', [3, 5], 2, []],
    ['none at the cap', [3, 5, 9], 3, []],
    ['the oldest by sequence over it', [9, 3, 5], 2, [3]],
    ['as many as it is over', [4, 1, 8, 2, 6], 2, [1, 2, 4]],
  ];
  for (const [name, seqs, cap, dropped] of cases)
    it(name, () => expect(copiesOverCap(seqs.map(rec), cap).map((r) => r.seq)).toEqual(dropped));
});

describe('selectConflicts', () => {
  const records = [
    { path: 'a.ts', copyPath: 'a.conflict-1.ts' },
    { path: 'a.ts', copyPath: 'a.conflict-2.ts' },
    { path: 'b.ts', copyPath: 'b.conflict-1.ts' },
  ];
  it('takes every conflict with all', () =>
    expect(selectConflicts(records, { all: true }).selected).toHaveLength(3));
  it('matches a path by its conflicts and a copy by its own', () => {
    const { selected, unmatched } = selectConflicts(records, { paths: ['a.ts', 'b.conflict-1.ts', 'c.ts'] });
    expect(selected.map((r) => r.copyPath)).toEqual([
      'a.conflict-1.ts',
      'a.conflict-2.ts',
      'b.conflict-1.ts',
    ]);
    expect(unmatched).toEqual(['c.ts']);
  });
});

describe('settlementOrder', () => {
  const records = [
    { path: 'a.ts', seq: 5, copyPath: 'a.conflict-1.ts' },
    { path: 'a.ts', seq: 9, copyPath: 'a.conflict-2.ts' },
    { path: 'b.ts', seq: 2, copyPath: 'b.conflict-1.ts' },
  ];
  it('keeps the newest copy of a path and deletes its older ones under keep copy', () =>
    expect(settlementOrder(records, 'copy').map((s) => s.keep)).toEqual(['current', 'copy', 'copy']));
  for (const keep of ['current', 'both'] as const)
    it(`settles every conflict the same way under keep ${keep}`, () =>
      expect(settlementOrder(records, keep).map((s) => s.keep)).toEqual([keep, keep, keep]));
});
