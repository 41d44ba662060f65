import { describe, expect, test } from 'bun:test';
import {
  cursorAfterCycle,
  isDeferred,
  looksMidWrite,
  type PathInput,
  type PathStep,
  planCycle,
  planPath,
  withOwnCounters,
} from '../../src/core/cycle-plan.ts';
import { DELETED, type EntryContent, type ManifestEntry } from '../../src/core/entry.ts';
import { IgnoreRules } from '../../src/core/ignore.ts';
import type { BaseVersion } from '../../src/core/reconcile.ts';
import { policyOf } from '../../src/core/sync-mode.ts';

const file = (digit: string, size = 4): EntryContent => {
  const hash = digit.repeat(64);
  return { kind: 'file', hash, size, exec: false, chunks: size > 0 ? [[hash, size]] : [] };
};
const F1 = file('1');
const F2 = file('2');
const F3 = file('3');
const DIR: EntryContent = { kind: 'dir' };
const ME = 'laptop';
const NOW = 1_000_000;
const RULES = new IgnoreRules(new Map([['', 'dist/\n']]));

const BASE: BaseVersion = { content: F1, vector: { desktop: 2 } };
const remote = (content: EntryContent, vector = { desktop: 3 }, path = 'a.txt', seq = 7): ManifestEntry => ({
  path,
  content,
  vector,
  seq,
  agent: 'desktop',
});
const NEWER = remote(F2);
const OLDER = remote(F2, { desktop: 1 });

/** A path input with everything at rest; each row overrides what it is about. */
const input = (over: Partial<PathInput>): PathInput => ({
  path: 'a.txt',
  local: F1,
  reread: false,
  base: BASE,
  remote: undefined,
  refused: false,
  ...over,
});

describe('planPath', () => {
  const rows: Array<[name: string, input: PathInput, expected: PathStep]> = [
    // A state that cannot be seen: nothing is pushed, nothing written.
    ['unknown state, nothing waiting: left alone', input({ unknown: 'EACCES' }), { type: 'leave' }],
    [
      'unknown state, a remote version waiting: deferred with the reason',
      input({ unknown: 'EACCES', remote: NEWER }),
      { type: 'defer', entry: NEWER, problem: 'EACCES' },
    ],
    [
      'unknown state that reads as a deletion: never pushed',
      input({ unknown: 'its folder cannot be listed', local: DELETED }),
      { type: 'leave' },
    ],
    // Ignored paths (see core/ignored-remote.ts).
    [
      'ignored path, a local file that never synced: the remote version is dropped',
      input({
        path: 'dist/a.js',
        local: F3,
        base: undefined,
        remote: remote(F2, { desktop: 3 }, 'dist/a.js'),
      }),
      { type: 'drop-remote' },
    ],
    [
      'ignored path, nothing here: the remote version is written',
      input({
        path: 'dist/a.js',
        local: DELETED,
        base: undefined,
        remote: remote(F2, { desktop: 3 }, 'dist/a.js'),
      }),
      { type: 'apply', entry: remote(F2, { desktop: 3 }, 'dist/a.js') },
    ],
    // Disk and base agree.
    ['unchanged, nothing waiting', input({}), { type: 'nothing', settlesRemote: false, refreshStat: false }],
    [
      'unchanged and re-read: its fresh stat is recorded',
      input({ reread: true }),
      { type: 'nothing', settlesRemote: false, refreshStat: true },
    ],
    [
      'unchanged folder: no stat to record',
      input({ local: DIR, base: { content: DIR, vector: { desktop: 1 } }, reread: true }),
      { type: 'nothing', settlesRemote: false, refreshStat: false },
    ],
    [
      'nothing here and no base: no stat to record',
      input({ local: DELETED, base: undefined, reread: true }),
      { type: 'nothing', settlesRemote: false, refreshStat: false },
    ],
    [
      'unchanged, an older remote version: that version is done with',
      input({ remote: OLDER }),
      { type: 'nothing', settlesRemote: true, refreshStat: false },
    ],
    // The hub's side moved.
    [
      'the disk already holds the newer remote content: adopted under its vector',
      input({ local: F2, remote: NEWER }),
      { type: 'adopt', content: F2, vector: { desktop: 3 } },
    ],
    ['unchanged, a newer remote version: written', input({ remote: NEWER }), { type: 'apply', entry: NEWER }],
    [
      'a deferred remote version whose retry is not due: left for later',
      input({ remote: NEWER, retryAt: NOW + 1 }),
      { type: 'leave' },
    ],
    [
      'a deferred remote version whose retry is due: written',
      input({ remote: NEWER, retryAt: NOW }),
      { type: 'apply', entry: NEWER },
    ],
    // The local side moved.
    [
      "a local edit: pushed with the agent's entry incremented",
      input({ local: F2 }),
      { type: 'push', content: F2, vector: { desktop: 2, [ME]: 1 } },
    ],
    [
      'a new local file: pushed as its first version',
      input({ local: F2, base: undefined }),
      { type: 'push', content: F2, vector: { [ME]: 1 } },
    ],
    [
      'a local deletion: pushed as a deletion',
      input({ local: DELETED }),
      { type: 'push', content: DELETED, vector: { desktop: 2, [ME]: 1 } },
    ],
    [
      'a local edit the hub refused before: not sent again',
      input({ local: F2, refused: true }),
      { type: 'leave' },
    ],
    [
      'both sides changed: the local edit is pushed (the hub makes the conflict)',
      input({ local: F3, remote: NEWER }),
      { type: 'push', content: F3, vector: { desktop: 2, [ME]: 1 } },
    ],
  ];
  for (const [name, row, expected] of rows)
    test(name, () => expect(planPath(ME, NOW, RULES, row)).toEqual(expected));
});

describe('planCycle', () => {
  const plan = planCycle(ME, NOW, RULES, [
    input({ path: 'edited', local: F2 }),
    input({ path: 'unknown', unknown: 'EIO', remote: remote(F2, { desktop: 3 }, 'unknown') }),
    input({ path: 'incoming', remote: remote(F2, { desktop: 3 }, 'incoming') }),
    input({ path: 'same', local: F2, remote: remote(F2, { desktop: 3 }, 'same') }),
    input({ path: 'stale', remote: remote(F2, { desktop: 1 }, 'stale'), reread: true }),
    input({ path: 'also-edited', local: F3 }),
  ]);

  test('groups the pushes in the order the paths came', () =>
    expect(plan.push.map((p) => p.path)).toEqual(['edited', 'also-edited']));
  test('lists the writes', () => expect(plan.apply.map((e) => e.path)).toEqual(['incoming']));
  test('lists the deferrals with their reason', () =>
    expect(plan.defer.map((d) => [d.entry.path, d.problem])).toEqual([['unknown', 'EIO']]));
  test('lists the adoptions', () => expect(plan.adopt.map((a) => a.path)).toEqual(['same']));
  test('lists the remote versions done with and the stats to record', () => {
    expect(plan.settled).toEqual(['stale']);
    expect(plan.refreshStat).toEqual(['stale']);
  });
  test('gives every push a vector of its own', () => {
    (plan.push[0]!.vector as Record<string, number>).x = 1;
    expect(plan.push[1]!.vector).toEqual({ desktop: 2, [ME]: 1 });
  });
});

describe('looksMidWrite', () => {
  const rows: Array<
    [name: string, local: EntryContent, unsettled: boolean, base: EntryContent | undefined, mid: boolean]
  > = [
    ['a file that changed while it was read', F2, true, F1, true],
    ['a file just emptied', file('0', 0), false, F1, true],
    ['a file that was empty and still is', file('0', 0), false, file('0', 0), false],
    ['a new empty file', file('0', 0), false, undefined, false],
    ['an ordinary edit', F2, false, F1, false],
    ['a deletion', DELETED, false, F1, false],
  ];
  for (const [name, local, unsettled, base, mid] of rows)
    test(`${mid ? 'put off' : 'read as is'}: ${name}`, () =>
      expect(looksMidWrite(local, unsettled, base)).toBe(mid));
});

describe('withOwnCounters', () => {
  test('gives each push the next counter value, in order', () =>
    expect(withOwnCounters([{ desktop: 2 }, {}], ME, 10)).toEqual([{ desktop: 2, [ME]: 10 }, { [ME]: 11 }]));
  test("never lowers the agent's own entry", () =>
    expect(withOwnCounters([{ [ME]: 50 }], ME, 10)).toEqual([{ [ME]: 50 }]));
  test('leaves the vectors it was given alone', () => {
    const vector = { desktop: 1 };
    withOwnCounters([vector], ME, 3);
    expect(vector).toEqual({ desktop: 1 });
  });
});

describe('cursorAfterCycle', () => {
  const at = (path: string, seq: number) => remote(F2, { desktop: 3 }, path, seq);
  const deferredOf = (...entries: ManifestEntry[]) =>
    new Map(entries.map((entry) => [entry.path, { entry }]));
  test('moves to the highest sequence seen when nothing waits', () =>
    expect(cursorAfterCycle(3, 9, [], new Map())).toBe(9));
  test('stops below the first version still waiting', () =>
    expect(cursorAfterCycle(3, 9, [at('a', 8), at('b', 6)], new Map())).toBe(5));
  test('moves past a version kept as deferred', () =>
    expect(cursorAfterCycle(3, 9, [at('a', 6)], deferredOf(at('a', 6)))).toBe(9));
  test('does not move past a newer version of a deferred path', () =>
    expect(cursorAfterCycle(3, 9, [at('a', 8)], deferredOf(at('a', 6)))).toBe(7));
  test('never moves back', () => expect(cursorAfterCycle(7, 9, [at('a', 4)], new Map())).toBe(7));
});

describe('isDeferred', () => {
  const entry = remote(F2, { desktop: 3 }, 'a', 6);
  test('true for the very version deferred', () =>
    expect(isDeferred(entry, new Map([['a', { entry: { seq: 6 } }]]))).toBe(true));
  test('false for another version of the path', () =>
    expect(isDeferred(entry, new Map([['a', { entry: { seq: 5 } }]]))).toBe(false));
  test('false when nothing is deferred', () => expect(isDeferred(entry, new Map())).toBe(false));
});

describe('planPath under sync modes', () => {
  const RECEIVE = policyOf('receive-only');
  const SEND = policyOf('send-only');
  const REPLICA = policyOf('replica');
  const rows: Array<[name: string, input: PathInput, expected: PathStep]> = [
    ['receive-only, a local edit: kept local', input({ local: F3, policy: RECEIVE }), { type: 'keep-local' }],
    [
      'receive-only, a local edit and a newer remote version: kept local, the remote one withheld',
      input({ local: F3, remote: NEWER, policy: RECEIVE }),
      { type: 'keep-local', withhold: NEWER },
    ],
    [
      'receive-only, the edit undone, a withheld version: written now',
      input({ local: F1, withheld: NEWER, policy: RECEIVE }),
      { type: 'apply', entry: NEWER },
    ],
    [
      'send-only, a newer remote version: not written, withheld',
      input({ remote: NEWER, policy: SEND }),
      { type: 'skip-remote', withhold: NEWER },
    ],
    [
      'replica, a local edit: the base written back',
      input({ local: F3, policy: REPLICA }),
      { type: 'apply', entry: { path: 'a.txt', content: F1, vector: BASE.vector, seq: 0, agent: ME } },
    ],
    [
      'replica, a local edit and a newer remote version: the remote one written over it',
      input({ local: F3, remote: NEWER, policy: REPLICA }),
      { type: 'apply', entry: NEWER },
    ],
    [
      'replica, a file the workspace never had: removed',
      input({ local: F3, base: undefined, policy: REPLICA }),
      { type: 'apply', entry: { path: 'a.txt', content: DELETED, vector: {}, seq: 0, agent: ME } },
    ],
  ];
  for (const [name, given, expected] of rows)
    test(name, () => expect(planPath(ME, NOW, RULES, given)).toEqual(expected));

  test('send-only pushes an edit over a withheld version with a vector that supersedes it', () => {
    const step = planPath(ME, NOW, RULES, input({ local: F3, withheld: NEWER, policy: SEND }));
    expect(step.type).toBe('push');
    if (step.type === 'push') expect(step.vector).toEqual({ desktop: 3, laptop: 1 });
  });

  test('a plan withholds, keeps and releases by path', () => {
    const plan = planCycle(ME, NOW, RULES, [
      input({ path: 'kept', local: F3, remote: remote(F2, { desktop: 3 }, 'kept'), policy: RECEIVE }),
      input({ path: 'done', local: F1, withheld: remote(F2, { desktop: 3 }, 'done'), policy: RECEIVE }),
      input({ path: 'still', local: F1, withheld: remote(F2, { desktop: 3 }, 'still'), policy: SEND }),
    ]);
    expect(plan.keptLocal).toEqual(['kept']);
    expect(plan.withhold.map((e) => e.path)).toEqual(['kept']);
    expect(plan.release).toEqual(['done']);
    expect(plan.apply.map((e) => e.path)).toEqual(['done']);
  });
});
