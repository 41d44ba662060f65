import { describe, expect, test } from 'bun:test';
import {
  type DeletionBatch,
  type GuardedPush,
  guardDeletions,
  type HaltState,
  judgeDeletions,
  knownBasesOf,
} from '../../src/core/deletion-guard.ts';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';

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

describe('guardDeletions', () => {
  const file = (n: number): EntryContent => ({
    kind: 'file',
    hash: String(n).padStart(64, '0'),
    size: 1,
    exec: false,
    chunks: [],
  });
  /** 150 known files, f0 to f149. */
  const bases = knownBasesOf(new Map(Array.from({ length: 150 }, (_, i) => [`f${i}`, { content: file(i) }])));
  const deleting = (n: number): GuardedPush[] =>
    Array.from({ length: n }, (_, i) => ({ path: `f${i}`, content: DELETED }));
  const edit: GuardedPush = { path: 'f149', content: file(999) };
  const free: HaltState = { deletesAllowed: false };
  const halted: HaltState = { held: { reason: 'earlier', deletions: 150 }, deletesAllowed: false };

  test('a cycle without deletions lets everything go and keeps no halt', () => {
    const out = guardDeletions([edit], true, free, bases);
    expect(out).toEqual({ allowed: [edit], halt: { deletesAllowed: false }, announce: undefined });
  });
  test('a full cycle without deletions clears an earlier halt, and says so', () => {
    const out = guardDeletions([edit], true, halted, bases);
    expect(out.halt.held).toBeUndefined();
    expect(out.announce).toBe('cleared');
  });
  test('a partial cycle without deletions leaves an earlier halt standing', () => {
    const out = guardDeletions([edit], false, halted, bases);
    expect(out.halt).toBe(halted);
    expect(out.announce).toBeUndefined();
  });
  test('a few deletions go', () => {
    const out = guardDeletions([...deleting(3), edit], false, free, bases);
    expect(out.allowed).toHaveLength(4);
    expect(out.halt.held).toBeUndefined();
  });
  test('a mass deletion is held while the other changes go', () => {
    const out = guardDeletions([...deleting(149), edit], false, free, bases);
    expect(out.allowed).toEqual([edit]);
    expect(out.halt.held?.deletions).toBe(149);
    expect(out.announce).toBe('halted');
  });
  test('the same held deletions are not announced again', () => {
    const first = guardDeletions(deleting(150), true, free, bases);
    const again = guardDeletions(deleting(150), true, first.halt, bases);
    expect(again.allowed).toEqual([]);
    expect(again.announce).toBeUndefined();
  });
  test('a held batch that grew is announced again', () => {
    const first = guardDeletions(deleting(120), true, free, bases);
    expect(guardDeletions(deleting(150), true, first.halt, bases).announce).toBe('halted');
  });
  test('deletions let go by resume go once, and the halt ends', () => {
    const out = guardDeletions(deleting(150), true, { ...halted, deletesAllowed: true }, bases);
    expect(out.allowed).toHaveLength(150);
    expect(out.halt).toEqual({ held: undefined, deletesAllowed: false });
  });
  test('a partial cycle of allowed deletions leaves an earlier halt standing', () => {
    const out = guardDeletions(deleting(3), false, halted, bases);
    expect(out.allowed).toHaveLength(3);
    expect(out.halt.held).toEqual(halted.held);
  });
  test('a full cycle of allowed deletions ends the halt', () => {
    expect(guardDeletions(deleting(3), true, halted, bases).halt.held).toBeUndefined();
  });
});
