import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent, sameContent } from '../../src/core/entry.ts';
import {
  type BaseVersion,
  type Decision,
  type RemoteVersion,
  reconcilePath,
} from '../../src/core/reconcile.ts';
import { compareVectors, type VersionVector } from '../../src/core/vector.ts';

const file = (digit: string): EntryContent => {
  const hash = digit.repeat(64);
  return { kind: 'file', hash, size: 4, exec: false, chunks: [[hash, 4]] };
};
const F1 = file('1');
const F2 = file('2');
const F3 = file('3');
const ME = 'laptop';

const BASE: BaseVersion = { content: F1, vector: { desktop: 2 } };
const OLDER: VersionVector = { desktop: 1 };
const NEWER: VersionVector = { desktop: 3 };

type Row = [
  name: string,
  base: BaseVersion | undefined,
  local: EntryContent,
  remote: RemoteVersion | undefined,
  expected: Decision,
];

const table: Row[] = [
  // Never seen before: the base is absent, which is the same as a deleted base.
  ['no base, nothing local, no remote', undefined, DELETED, undefined, { type: 'nothing' }],
  [
    'no base, nothing local, remote at the empty vector',
    undefined,
    DELETED,
    { content: F2, vector: {} },
    { type: 'nothing' },
  ],
  [
    'no base, nothing local, newer remote',
    undefined,
    DELETED,
    { content: F2, vector: NEWER },
    { type: 'apply', content: F2, vector: NEWER },
  ],
  [
    'no base, nothing local, newer remote tombstone',
    undefined,
    DELETED,
    { content: DELETED, vector: NEWER },
    { type: 'adopt', vector: NEWER },
  ],
  [
    'no base, new local file, no remote',
    undefined,
    F1,
    undefined,
    { type: 'push', content: F1, vector: { [ME]: 1 } },
  ],
  [
    'no base, new local file, remote at the empty vector',
    undefined,
    F1,
    { content: F2, vector: {} },
    { type: 'push', content: F1, vector: { [ME]: 1 } },
  ],
  [
    'no base, new local file, newer remote',
    undefined,
    F1,
    { content: F2, vector: NEWER },
    { type: 'push', content: F1, vector: { [ME]: 1 } },
  ],
  [
    'no base, new local file, newer remote with the same content',
    undefined,
    F1,
    { content: F1, vector: NEWER },
    { type: 'adopt', vector: NEWER },
  ],
  // A base the agent and the hub agreed on.
  ['base, local unchanged, no remote', BASE, F1, undefined, { type: 'nothing' }],
  ['base, local unchanged, older remote', BASE, F1, { content: F2, vector: OLDER }, { type: 'nothing' }],
  [
    'base, local unchanged, remote at the base vector',
    BASE,
    F1,
    { content: F1, vector: BASE.vector },
    { type: 'nothing' },
  ],
  [
    'base, local unchanged, newer remote',
    BASE,
    F1,
    { content: F2, vector: NEWER },
    { type: 'apply', content: F2, vector: NEWER },
  ],
  [
    'base, local unchanged, newer remote deletion',
    BASE,
    F1,
    { content: DELETED, vector: NEWER },
    { type: 'apply', content: DELETED, vector: NEWER },
  ],
  [
    'base, local unchanged, newer remote with the same content',
    BASE,
    F1,
    { content: F1, vector: NEWER },
    { type: 'adopt', vector: NEWER },
  ],
  [
    'base, local changed, no remote',
    BASE,
    F2,
    undefined,
    { type: 'push', content: F2, vector: { desktop: 2, [ME]: 1 } },
  ],
  [
    'base, local changed, older remote',
    BASE,
    F2,
    { content: F3, vector: OLDER },
    { type: 'push', content: F2, vector: { desktop: 2, [ME]: 1 } },
  ],
  [
    'base, local changed, newer remote',
    BASE,
    F2,
    { content: F3, vector: NEWER },
    { type: 'push', content: F2, vector: { desktop: 2, [ME]: 1 } },
  ],
  [
    'base, local changed, newer remote with the same content',
    BASE,
    F2,
    { content: F2, vector: NEWER },
    { type: 'adopt', vector: NEWER },
  ],
  [
    'base, local deleted, no remote',
    BASE,
    DELETED,
    undefined,
    { type: 'push', content: DELETED, vector: { desktop: 2, [ME]: 1 } },
  ],
  [
    'base, local deleted, older remote',
    BASE,
    DELETED,
    { content: F3, vector: OLDER },
    { type: 'push', content: DELETED, vector: { desktop: 2, [ME]: 1 } },
  ],
  [
    'base, local deleted, newer remote',
    BASE,
    DELETED,
    { content: F3, vector: NEWER },
    { type: 'push', content: DELETED, vector: { desktop: 2, [ME]: 1 } },
  ],
  [
    'base, local deleted, newer remote deletion',
    BASE,
    DELETED,
    { content: DELETED, vector: NEWER },
    { type: 'adopt', vector: NEWER },
  ],
];

describe('reconcilePath', () => {
  for (const [name, base, local, remote, expected] of table) {
    it(`${name}: ${expected.type}`, () => {
      expect(reconcilePath(ME, base, local, remote)).toEqual(expected);
    });
  }

  it('pushes a local edit with a vector concurrent to a newer remote one, so the hub sees a conflict', () => {
    const decision = reconcilePath(ME, BASE, F2, { content: F3, vector: NEWER });
    expect(decision.type === 'push' && compareVectors(decision.vector, NEWER)).toBe('concurrent');
  });

  it('pushes a local edit with a vector strictly after the base', () => {
    const decision = reconcilePath(ME, BASE, F2, undefined);
    expect(decision.type === 'push' && compareVectors(decision.vector, BASE.vector)).toBe('after');
  });

  it('treats a changed exec bit as a local change', () => {
    const exec: EntryContent = { ...(F1 as Extract<EntryContent, { kind: 'file' }>), exec: true };
    expect(reconcilePath(ME, BASE, exec, undefined).type).toBe('push');
  });
});

describe("reconcilePath's invariant", () => {
  const contents: EntryContent[] = [
    F1,
    F2,
    F3,
    DELETED,
    { kind: 'dir' },
    { kind: 'symlink', target: 'a' },
    { kind: 'symlink', target: 'b' },
  ];
  const vectors: VersionVector[] = [{}, OLDER, BASE.vector, NEWER, { desktop: 2, other: 1 }, { other: 1 }];
  const bases: (BaseVersion | undefined)[] = [
    undefined,
    ...contents.map((content) => ({ content, vector: BASE.vector })),
  ];
  const remotes: (RemoteVersion | undefined)[] = [
    undefined,
    ...contents.flatMap((content) => vectors.map((vector) => ({ content, vector }))),
  ];

  it(`returns 'apply' only when the local content equals the base, over every combination of ${bases.length} bases, ${contents.length} local contents and ${remotes.length} remotes`, () => {
    let applies = 0;
    for (const base of bases)
      for (const local of contents)
        for (const remote of remotes) {
          const decision = reconcilePath(ME, base, local, remote);
          if (decision.type !== 'apply') continue;
          applies++;
          const context = JSON.stringify({ base, local, remote });
          expect(sameContent(local, base?.content ?? DELETED), context).toBe(true);
        }
    expect(applies).toBeGreaterThan(0);
  });

  it('never returns a decision that overwrites or drops a local edit unseen by the hub', () => {
    for (const base of bases)
      for (const local of contents)
        for (const remote of remotes) {
          const localChanged = !sameContent(local, base?.content ?? DELETED);
          const decision = reconcilePath(ME, base, local, remote);
          if (!localChanged) continue;
          const context = JSON.stringify({ base, local, remote, decision });
          // A changed local is either pushed or already equal to the remote.
          const kept =
            decision.type === 'push' ||
            (decision.type === 'adopt' && remote !== undefined && sameContent(local, remote.content));
          expect(kept, context).toBe(true);
        }
  });
});
