import { describe, expect, test } from 'bun:test';
import {
  type AfterApply,
  type ApplyFailure,
  afterApplyFailure,
  deferralDelayMs,
} from '../../src/core/apply-outcome.ts';

describe('afterApplyFailure', () => {
  const failure = (f: Partial<ApplyFailure> & Pick<ApplyFailure, 'code'>): ApplyFailure => ({
    message: 'why',
    retry: true,
    deletion: false,
    ...f,
  });
  const cases: Array<[string, ApplyFailure, AfterApply['type']]> = [
    [
      'a local edit in the way is observed again and pushed',
      failure({ code: 'local-changed' }),
      'observe-again',
    ],
    [
      'a deleted folder still holding things is kept',
      failure({ code: 'folder-not-empty', deletion: true }),
      'keep-folder',
    ],
    ['a file waiting for a folder to empty is deferred', failure({ code: 'folder-not-empty' }), 'defer'],
    ['a missing chunk defers only its path', failure({ code: 'missing-chunks' }), 'defer'],
    ['an unreadable local path is deferred, never overwritten', failure({ code: 'unknown-local' }), 'defer'],
    ['an I/O error is deferred', failure({ code: 'io-error' }), 'defer'],
    ['a file where a folder should be is deferred', failure({ code: 'not-a-folder' }), 'defer'],
    [
      'a name whose other spelling holds another entry waits for that entry to go',
      failure({ code: 'case-clash' }),
      'defer',
    ],
    [
      'a link in the path waits until it gives way to the folder',
      failure({ code: 'symlink-in-path' }),
      'defer',
    ],
    ['a final I/O error is given up and reported', failure({ code: 'io-error', retry: false }), 'give-up'],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      expect(afterApplyFailure(input).type).toBe(expected);
    });
  }
});

describe('deferralDelayMs', () => {
  test('starts at one second and doubles', () => {
    expect([1, 2, 3, 4].map(deferralDelayMs)).toEqual([1000, 2000, 4000, 8000]);
  });
  test('never waits more than five minutes', () => {
    expect(deferralDelayMs(40)).toBe(300_000);
  });
});
