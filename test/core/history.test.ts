import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import {
  type PathVersion,
  pickVersion,
  planRestore,
  type RestoreChoice,
  retentionCutoff,
  tombstoneSeqLimit,
} from '../../src/core/history.ts';
import { compareVectors } from '../../src/core/vector.ts';

const file = (digit: string): EntryContent => ({
  kind: 'file',
  hash: digit.repeat(64),
  size: 1,
  exec: false,
  chunks: [[digit.repeat(64), 1]],
});
const v = (seq: number, content: EntryContent, at: string, current = false): PathVersion => ({
  path: 'a.txt',
  seq,
  content,
  vector: { aaaaaaaa: seq },
  agent: 'aaaaaaaa',
  at,
  ...(current ? {} : { replacedSeq: seq + 1, replacedAt: at }),
});
/** Version 2 made at 10:00, 5 at 11:00, deleted at 12:00 (the current tombstone, 8). */
const VERSIONS = [
  v(2, file('1'), '2026-07-14T10:00:00.000Z'),
  v(5, file('2'), '2026-07-14T11:00:00.000Z'),
  v(8, DELETED, '2026-07-14T12:00:00.000Z', true),
];

describe('pickVersion', () => {
  const cases: Array<[name: string, choice: RestoreChoice, expected: number | string]> = [
    ['a version by its number', { version: 2 }, 2],
    ['no deletion by its number', { version: 8 }, 'no-such-version'],
    ['no version the hub does not keep', { version: 3 }, 'no-such-version'],
    ['the newest version made before a time', { before: '2026-07-14T11:30:00Z' }, 5],
    ['the one before when the time is its own', { before: '2026-07-14T11:00:00Z' }, 2],
    ['nothing before the oldest', { before: '2026-07-14T09:00:00Z' }, 'no-such-version'],
    ['the newest restorable version with no choice (undo a deletion)', { latest: true }, 5],
  ];
  for (const [name, choice, expected] of cases)
    it(name, () => {
      const pick = pickVersion('a.txt', VERSIONS, choice, 8);
      expect(pick.ok ? pick.version.seq : pick.code).toBe(expected);
    });

  it('skips the current version when undoing an overwrite', () => {
    const versions = [v(2, file('1'), '2026-07-14T10:00:00Z'), v(5, file('2'), '2026-07-14T11:00:00Z', true)];
    const pick = pickVersion('a.txt', versions, { latest: true }, 5);
    expect(pick.ok && pick.version.seq).toBe(2);
  });

  it('says there is no history when only the current version is kept', () => {
    const pick = pickVersion('a.txt', [v(5, file('2'), '2026-07-14T11:00:00Z', true)], { latest: true }, 5);
    expect(pick.ok ? 'ok' : pick.code).toBe('no-history');
  });
});

describe('planRestore', () => {
  it('writes the old content under a vector after the current and the restored version', () => {
    const write = planRestore(VERSIONS[0]!, { content: DELETED, vector: { bbbbbbbb: 4 }, seq: 8 });
    expect(write).toMatchObject({ path: 'a.txt', content: file('1'), expectSeq: 8 });
    expect(compareVectors(write.vector, { bbbbbbbb: 4 })).toBe('after');
    expect(compareVectors(write.vector, VERSIONS[0]!.vector)).toBe('after');
  });

  it('expects no entry when the path has none', () => {
    expect(planRestore(VERSIONS[0]!, undefined).expectSeq).toBeUndefined();
  });
});

describe('retention', () => {
  it('puts the cutoff the retention before now', () =>
    expect(retentionCutoff(Date.parse('2026-07-14T00:00:00Z'), 7)).toBe('2026-07-07T00:00:00.000Z'));

  const cases: Array<[name: string, head: number, cursors: number[], limit: number]> = [
    ['every tombstone may go with no agent connected', 40, [], 40],
    ['only those below the slowest cursor', 40, [30, 12, 40], 12],
    ['none while an agent has not reported a cursor', 40, [0, 35], 0],
  ];
  for (const [name, head, cursors, limit] of cases)
    it(`tombstone limit: ${name}`, () => expect(tombstoneSeqLimit(head, cursors)).toBe(limit));
});
