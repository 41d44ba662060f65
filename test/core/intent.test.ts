import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import { baseAfterPush, baseAfterWrite, type PushIntent, type WriteIntent } from '../../src/core/intent.ts';
import type { BaseVersion, RemoteVersion } from '../../src/core/reconcile.ts';

const file = (digit: string): EntryContent => {
  const hash = digit.repeat(64);
  return { kind: 'file', hash, size: 4, exec: false, chunks: [[hash, 4]] };
};
const F1 = file('1');
const F2 = file('2');
const F3 = file('3');
const ME = 'aaaaaaaaaaaaaaaa';
const PEER = 'bbbbbbbbbbbbbbbb';

const BASE: BaseVersion = { content: F1, vector: { [PEER]: 2 } };
/** This agent's push of F2 made from BASE. */
const PUSH: PushIntent = { op: 'push', content: F2, vector: { [PEER]: 2, [ME]: 7 }, since: 10 };
/** The hub's version when it took PUSH as it was. */
const TAKEN: RemoteVersion = { content: F2, vector: PUSH.vector };
/** The peer's newer version F2, about to be written here. */
const WRITE: WriteIntent = { op: 'apply', content: F2, vector: { [PEER]: 3 } };

type Outcome = 'the intent' | 'the base';
const expected = (outcome: Outcome, base: BaseVersion | undefined, intent: PushIntent | WriteIntent) =>
  outcome === 'the intent' ? { content: intent.content, vector: intent.vector } : base;

describe('baseAfterPush', () => {
  const table: Array<[string, BaseVersion | undefined, PushIntent, RemoteVersion | undefined, Outcome]> = [
    ['the hub holds it', BASE, PUSH, TAKEN, 'the intent'],
    [
      'the hub holds a later version made from it',
      BASE,
      PUSH,
      { content: F3, vector: { [PEER]: 3, [ME]: 7 } },
      'the intent',
    ],
    [
      'the hub settled it as a conflict',
      BASE,
      PUSH,
      { content: F3, vector: { [PEER]: 3, [ME]: 7, '~hub': 1 } },
      'the intent',
    ],
    [
      'a new file, the hub holds it',
      undefined,
      { op: 'push', content: F2, vector: { [ME]: 1 }, since: 0 },
      { content: F2, vector: { [ME]: 1 } },
      'the intent',
    ],
    ['the hub holds no version made since it was sent', BASE, PUSH, undefined, 'the base'],
    ['the hub holds a concurrent version', BASE, PUSH, { content: F3, vector: { [PEER]: 3 } }, 'the base'],
    [
      'a push concurrent with the base (stale)',
      BASE,
      { op: 'push', content: F3, vector: { [ME]: 9 }, since: 10 },
      { content: F3, vector: { [ME]: 9 } },
      'the base',
    ],
  ];
  for (const [name, base, intent, hub, outcome] of table) {
    it(`${name}: ${outcome}`, () => {
      expect(baseAfterPush(base, intent, hub)).toEqual(expected(outcome, base, intent));
    });
  }
});

describe('baseAfterWrite', () => {
  const table: Array<[string, BaseVersion | undefined, WriteIntent, EntryContent, Outcome]> = [
    ['the disk holds it', BASE, WRITE, F2, 'the intent'],
    ['the disk holds the base', BASE, WRITE, F1, 'the base'],
    ['the disk holds something else', BASE, WRITE, F3, 'the base'],
    [
      'a deletion, the file is gone',
      BASE,
      { op: 'apply', content: DELETED, vector: { [PEER]: 3 } },
      DELETED,
      'the intent',
    ],
    [
      'a new file, the disk holds it',
      undefined,
      { op: 'apply', content: F2, vector: { [PEER]: 1 } },
      F2,
      'the intent',
    ],
    [
      'a version older than the base (stale)',
      BASE,
      { op: 'apply', content: F3, vector: { [PEER]: 1 } },
      F3,
      'the base',
    ],
  ];
  for (const [name, base, intent, local, outcome] of table) {
    it(`${name}: ${outcome}`, () => {
      expect(baseAfterWrite(base, intent, local)).toEqual(expected(outcome, base, intent));
    });
  }
});
