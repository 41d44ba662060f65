import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import { type Intent, recoverBase } from '../../src/core/intent.ts';
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
const PUSH: Intent = { op: 'push', content: F2, vector: { [PEER]: 2, [ME]: 7 } };
/** The peer's newer version F2, about to be written here. */
const WRITE: Intent = { op: 'apply', content: F2, vector: { [PEER]: 3 } };
/** The hub's version when it took PUSH as it was. */
const TAKEN: RemoteVersion = { content: F2, vector: PUSH.vector };

type Row = [
  name: string,
  base: BaseVersion | undefined,
  intent: Intent,
  local: EntryContent,
  remote: RemoteVersion | undefined,
  expected: 'intent' | 'base',
];

const table: Row[] = [
  // A push: the hub's version tells whether it was taken.
  ['push, the hub holds it', BASE, PUSH, F2, TAKEN, 'intent'],
  ['push, the hub holds it, deleted here since', BASE, PUSH, DELETED, TAKEN, 'intent'],
  ['push, the hub holds it, edited back here since', BASE, PUSH, F1, TAKEN, 'intent'],
  [
    'push, the hub holds a later version made from it',
    BASE,
    PUSH,
    F2,
    { content: F3, vector: { [PEER]: 3, [ME]: 7 } },
    'intent',
  ],
  [
    'push, the hub settled it as a conflict',
    BASE,
    PUSH,
    F2,
    { content: F3, vector: { [PEER]: 3, [ME]: 7, '~hub': 1 } },
    'intent',
  ],
  ['push, nothing new on the hub', BASE, PUSH, F2, undefined, 'base'],
  [
    'push, the hub holds a concurrent version',
    BASE,
    PUSH,
    F2,
    { content: F3, vector: { [PEER]: 3 } },
    'base',
  ],
  [
    'push of a new file, the hub holds it, deleted here since',
    undefined,
    { op: 'push', content: F2, vector: { [ME]: 1 } },
    DELETED,
    { content: F2, vector: { [ME]: 1 } },
    'intent',
  ],
  // A write: the disk tells whether it happened.
  ['write, the disk holds it', BASE, WRITE, F2, { content: F3, vector: { [PEER]: 4 } }, 'intent'],
  ['write, the disk holds it, nothing new on the hub', BASE, WRITE, F2, undefined, 'intent'],
  ['write, the disk holds the base', BASE, WRITE, F1, { content: F3, vector: { [PEER]: 4 } }, 'base'],
  ['write, the disk holds something else', BASE, WRITE, F3, undefined, 'base'],
  [
    'write of a deletion, the file is gone',
    BASE,
    { op: 'apply', content: DELETED, vector: { [PEER]: 3 } },
    DELETED,
    undefined,
    'intent',
  ],
  [
    'write of a new file, the disk holds it',
    undefined,
    { op: 'apply', content: F2, vector: { [PEER]: 1 } },
    F2,
    undefined,
    'intent',
  ],
  // An intent no newer than the base is stale, whatever the evidence.
  [
    'write older than the base',
    BASE,
    { op: 'apply', content: F3, vector: { [PEER]: 1 } },
    F3,
    undefined,
    'base',
  ],
  [
    'push concurrent with the base',
    BASE,
    { op: 'push', content: F3, vector: { [ME]: 9 } },
    F3,
    { content: F3, vector: { [ME]: 9 } },
    'base',
  ],
];

describe('recoverBase', () => {
  for (const [name, base, intent, local, remote, expected] of table) {
    it(`${name}: the ${expected}`, () => {
      const wanted = expected === 'intent' ? { content: intent.content, vector: intent.vector } : base;
      expect(recoverBase(base, intent, local, remote)).toEqual(wanted);
    });
  }
});
