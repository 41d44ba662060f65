import { describe, expect, test } from 'bun:test';
import { type DeletionBatch, judgeDeletions } from '../../src/core/deletion-guard.ts';

describe('judgeDeletions', () => {
  const cases: Array<[string, DeletionBatch, 'allow' | 'hold']> = [
    ['no deletion is allowed', { deletedFiles: 0, knownFiles: 0, addedFiles: 5 }, 'allow'],
    ['one deletion among many is allowed', { deletedFiles: 1, knownFiles: 500, addedFiles: 0 }, 'allow'],
    ['emptying a folder of 150 files is held', { deletedFiles: 150, knownFiles: 150, addedFiles: 0 }, 'hold'],
    [
      'emptying a folder of exactly 10 files is held',
      { deletedFiles: 10, knownFiles: 10, addedFiles: 0 },
      'hold',
    ],
    [
      'emptying a small folder (9 files) is allowed',
      { deletedFiles: 9, knownFiles: 9, addedFiles: 0 },
      'allow',
    ],
    ['deleting the only file is allowed', { deletedFiles: 1, knownFiles: 1, addedFiles: 0 }, 'allow'],
    [
      'replacing every file by new ones is not an emptied folder',
      { deletedFiles: 50, knownFiles: 50, addedFiles: 50 },
      'allow',
    ],
    [
      '101 of 200 files (over half, over 100) is held',
      { deletedFiles: 101, knownFiles: 200, addedFiles: 0 },
      'hold',
    ],
    [
      '100 of 150 files (not over 100) is allowed',
      { deletedFiles: 100, knownFiles: 150, addedFiles: 0 },
      'allow',
    ],
    ['exactly half (150 of 300) is allowed', { deletedFiles: 150, knownFiles: 300, addedFiles: 0 }, 'allow'],
    ['500 of 10,000 files is allowed', { deletedFiles: 500, knownFiles: 10_000, addedFiles: 0 }, 'allow'],
    [
      'a mass deletion is held even when new files arrive with it',
      { deletedFiles: 900, knownFiles: 1000, addedFiles: 900 },
      'hold',
    ],
  ];
  for (const [name, batch, expected] of cases)
    test(name, () => expect(judgeDeletions(batch).type).toBe(expected));

  test('a held batch says why', () => {
    const verdict = judgeDeletions({ deletedFiles: 150, knownFiles: 150, addedFiles: 0 });
    expect(verdict.type === 'hold' && verdict.reason).toContain('whole content');
  });
});
