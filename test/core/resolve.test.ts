import { describe, expect, it } from 'bun:test';
import { conflictCopyPath } from '../../src/core/conflict.ts';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import { type CurrentVersion, HUB_ID, type PushedChange, resolvePush } from '../../src/core/resolve.ts';
import { compareVectors, type VectorOrder, type VersionVector } from '../../src/core/vector.ts';

const h = (digit: string) => digit.repeat(64);
const file = (hash: string): EntryContent => ({
  kind: 'file',
  hash,
  size: 10,
  exec: false,
  chunks: [[hash, 10]],
});
const FILE_1 = file(h('1'));
const FILE_2 = file(h('2'));
const DIR: EntryContent = { kind: 'dir' };
const LINK_A: EntryContent = { kind: 'symlink', target: 'target-a' };
const LINK_B: EntryContent = { kind: 'symlink', target: 'target-b' };

const PATH = 'src/app.ts';
const AGENT = 'laptop';
/** The hub's current vector, and an incoming vector in each relation to it. */
const CURRENT_VECTOR: VersionVector = { desktop: 2, laptop: 1 };
const INCOMING: Record<'after' | 'before' | 'equal' | 'concurrent', VersionVector> = {
  after: { desktop: 2, laptop: 2 },
  before: { desktop: 1, laptop: 1 },
  equal: { desktop: 2, laptop: 1 },
  concurrent: { desktop: 1, laptop: 2 },
};

function push(content: EntryContent, vector: VersionVector): PushedChange {
  return { path: PATH, content, vector, agent: AGENT };
}

it('the incoming vectors stand in the relation they are named after', () => {
  for (const [order, vector] of Object.entries(INCOMING) as [VectorOrder, VersionVector][])
    expect(compareVectors(vector, CURRENT_VECTOR)).toBe(order);
});

describe('resolvePush with nothing at the path', () => {
  const cases: [name: string, content: EntryContent, expected: string][] = [
    ['a file', FILE_1, 'accept'],
    ['a folder', DIR, 'accept'],
    ['a symlink', LINK_A, 'accept'],
    ['a deletion', DELETED, 'noop'],
  ];
  for (const [name, content, expected] of cases) {
    it(`${expected === 'accept' ? 'accepts' : 'ignores'} ${name}`, () => {
      const vector = { laptop: 1 };
      const resolution = resolvePush(undefined, push(content, vector));
      if (expected === 'accept') expect(resolution).toEqual({ type: 'accept', content, vector });
      else expect(resolution).toEqual({ type: 'noop', reason: 'same-version' });
    });
  }
});

describe('resolvePush at a path whose tombstone expired', () => {
  const expired = { desktop: 3 };
  it('accepts a version that does not dominate the dropped tombstones under one that does', () => {
    const resolution = resolvePush(undefined, push(FILE_1, { laptop: 1 }), expired);
    expect(resolution).toEqual({
      type: 'accept',
      content: FILE_1,
      vector: { desktop: 3, laptop: 1, [HUB_ID]: 1 },
    });
  });
  it('accepts one that dominates them as it is', () => {
    const vector = { desktop: 3, laptop: 1 };
    expect(resolvePush(undefined, push(FILE_1, vector), expired)).toEqual({
      type: 'accept',
      content: FILE_1,
      vector,
    });
  });
  it('still ignores a deletion', () =>
    expect(resolvePush(undefined, push(DELETED, { laptop: 1 }), expired).type).toBe('noop'));
});

type Expected =
  | { type: 'accept'; vector: 'incoming' | 'merged' }
  | { type: 'noop'; reason: 'same-version' | 'superseded' }
  | {
      type: 'conflict';
      winner: 'current' | 'incoming';
      copy: boolean;
      reason: 'modify-beats-delete' | 'first-to-hub-wins';
    };

const ACCEPT: Expected = { type: 'accept', vector: 'incoming' };
const MERGE: Expected = { type: 'accept', vector: 'merged' };
const SUPERSEDED: Expected = { type: 'noop', reason: 'superseded' };
const SAME: Expected = { type: 'noop', reason: 'same-version' };
const KEEP_COPY: Expected = { type: 'conflict', winner: 'current', copy: true, reason: 'first-to-hub-wins' };
const NO_COPY: Expected = { type: 'conflict', winner: 'current', copy: false, reason: 'first-to-hub-wins' };
const MODIFY_WINS: Expected = {
  type: 'conflict',
  winner: 'incoming',
  copy: false,
  reason: 'modify-beats-delete',
};
const KEPT_WINS: Expected = {
  type: 'conflict',
  winner: 'current',
  copy: false,
  reason: 'modify-beats-delete',
};

/** current content x incoming order x incoming content -> expected resolution. */
const table: [
  current: EntryContent,
  order: keyof typeof INCOMING,
  incoming: EntryContent,
  expected: Expected,
][] = [
  // A file at the hub.
  [FILE_1, 'after', FILE_1, ACCEPT],
  [FILE_1, 'after', FILE_2, ACCEPT],
  [FILE_1, 'after', DELETED, ACCEPT],
  [FILE_1, 'before', FILE_1, SUPERSEDED],
  [FILE_1, 'before', FILE_2, KEEP_COPY],
  [FILE_1, 'before', DELETED, KEPT_WINS],
  [FILE_1, 'equal', FILE_1, SAME],
  [FILE_1, 'equal', FILE_2, KEEP_COPY],
  [FILE_1, 'concurrent', FILE_1, MERGE],
  [FILE_1, 'concurrent', FILE_2, KEEP_COPY],
  [FILE_1, 'concurrent', LINK_B, KEEP_COPY],
  [FILE_1, 'concurrent', DIR, NO_COPY],
  [FILE_1, 'concurrent', DELETED, KEPT_WINS],
  [FILE_1, 'equal', DELETED, KEPT_WINS],
  // A tombstone at the hub.
  [DELETED, 'after', DELETED, ACCEPT],
  [DELETED, 'after', FILE_1, ACCEPT],
  [DELETED, 'before', DELETED, SUPERSEDED],
  [DELETED, 'before', FILE_1, MODIFY_WINS],
  [DELETED, 'equal', DELETED, SAME],
  [DELETED, 'equal', FILE_1, MODIFY_WINS],
  [DELETED, 'concurrent', DELETED, MERGE],
  [DELETED, 'concurrent', FILE_1, MODIFY_WINS],
  [DELETED, 'concurrent', DIR, MODIFY_WINS],
  [DELETED, 'concurrent', LINK_A, MODIFY_WINS],
  // A folder at the hub.
  [DIR, 'after', DIR, ACCEPT],
  [DIR, 'after', FILE_1, ACCEPT],
  [DIR, 'before', FILE_1, KEEP_COPY],
  [DIR, 'equal', DIR, SAME],
  [DIR, 'equal', FILE_1, KEEP_COPY],
  [DIR, 'concurrent', DIR, MERGE],
  [DIR, 'concurrent', FILE_1, KEEP_COPY],
  [DIR, 'concurrent', DELETED, KEPT_WINS],
  // A symlink at the hub.
  [LINK_A, 'after', LINK_A, ACCEPT],
  [LINK_A, 'after', LINK_B, ACCEPT],
  [LINK_A, 'before', LINK_B, KEEP_COPY],
  [LINK_A, 'equal', LINK_A, SAME],
  [LINK_A, 'equal', LINK_B, KEEP_COPY],
  [LINK_A, 'concurrent', LINK_A, MERGE],
  [LINK_A, 'concurrent', LINK_B, KEEP_COPY],
  [LINK_A, 'concurrent', FILE_1, KEEP_COPY],
  [LINK_A, 'concurrent', DELETED, KEPT_WINS],
];

const describeContent = (c: EntryContent) =>
  c.kind === 'file' ? `file ${c.hash.slice(0, 1)}` : c.kind === 'symlink' ? `symlink ${c.target}` : c.kind;

describe('resolvePush against a version at the hub', () => {
  for (const [currentContent, order, incomingContent, expected] of table) {
    const current: CurrentVersion = { content: currentContent, vector: CURRENT_VECTOR };
    const change = push(incomingContent, INCOMING[order]);
    const label = `hub ${describeContent(currentContent)}, incoming ${describeContent(incomingContent)} ${order}`;

    it(`${label}: ${expected.type} ${'reason' in expected ? expected.reason : expected.vector}`, () => {
      const resolution = resolvePush(current, change);
      if (expected.type === 'noop') {
        expect(resolution).toEqual({ type: 'noop', reason: expected.reason });
      } else if (expected.type === 'accept') {
        const vector =
          expected.vector === 'incoming'
            ? change.vector
            : { desktop: 2, laptop: 2 } /* max of each counter */;
        expect(resolution).toEqual({ type: 'accept', content: incomingContent, vector });
      } else {
        expect(resolution).toMatchObject({
          type: 'conflict',
          reason: expected.reason,
          winner: { content: expected.winner === 'current' ? currentContent : incomingContent },
        });
        expect(resolution.type === 'conflict' && resolution.copy !== undefined).toBe(expected.copy);
      }
    });

    if (expected.type !== 'noop') {
      it(`${label}: the stored vector dominates both inputs${expected.type === 'conflict' ? ' strictly' : ''}`, () => {
        const resolution = resolvePush(current, change);
        const stored =
          resolution.type === 'accept'
            ? resolution.vector
            : resolution.type === 'conflict'
              ? resolution.winner.vector
              : {};
        const allowed = expected.type === 'conflict' ? ['after'] : ['after', 'equal'];
        expect(allowed).toContain(compareVectors(stored, current.vector));
        expect(allowed).toContain(compareVectors(stored, change.vector));
      });
    }
  }
});

describe('resolvePush conflicts', () => {
  const current: CurrentVersion = { content: FILE_1, vector: CURRENT_VECTOR };

  it("raises the hub's own counter on the merged vector of both sides", () => {
    const resolution = resolvePush(current, push(FILE_2, INCOMING.concurrent));
    expect(resolution.type === 'conflict' && resolution.winner.vector).toEqual({
      desktop: 2,
      laptop: 2,
      [HUB_ID]: 1,
    });
  });

  it("keeps the losing file at conflictCopyPath(path, agent, its hash) with the pusher's vector", () => {
    const resolution = resolvePush(current, push(FILE_2, INCOMING.concurrent));
    expect(resolution.type === 'conflict' && resolution.copy).toEqual({
      path: conflictCopyPath(PATH, AGENT, h('2')),
      content: FILE_2,
      vector: { [AGENT]: 1 },
    });
  });

  it('names the copy of a losing symlink with an 8-hex-digit tag of its target', () => {
    const resolution = resolvePush(
      { content: LINK_A, vector: CURRENT_VECTOR },
      push(LINK_B, INCOMING.concurrent),
    );
    const copy = resolution.type === 'conflict' ? resolution.copy : undefined;
    expect(copy?.content).toEqual(LINK_B);
    expect(copy?.path).toMatch(/^src\/app\.conflict-laptop-[0-9a-f]{8}\.ts$/);
  });

  it('names the copies of two different losing symlink targets differently', () => {
    const copyFor = (target: string) => {
      const r = resolvePush(
        { content: FILE_1, vector: CURRENT_VECTOR },
        push({ kind: 'symlink', target }, INCOMING.concurrent),
      );
      return r.type === 'conflict' ? r.copy?.path : undefined;
    };
    expect(copyFor('../a')).not.toBe(copyFor('../b'));
  });

  it('lets a modification beat a deletion that reached the hub first', () => {
    const resolution = resolvePush(
      { content: DELETED, vector: CURRENT_VECTOR },
      push(FILE_2, INCOMING.concurrent),
    );
    expect(resolution).toMatchObject({
      type: 'conflict',
      winner: { content: FILE_2 },
      reason: 'modify-beats-delete',
    });
  });

  it('lets a modification at the hub beat an incoming deletion', () => {
    const resolution = resolvePush(current, push(DELETED, INCOMING.concurrent));
    expect(resolution).toMatchObject({
      type: 'conflict',
      winner: { content: FILE_1 },
      reason: 'modify-beats-delete',
    });
  });

  it('treats a changed exec bit as different content', () => {
    const exec: EntryContent = { ...(FILE_1 as Extract<EntryContent, { kind: 'file' }>), exec: true };
    expect(resolvePush(current, push(exec, INCOMING.concurrent)).type).toBe('conflict');
  });
});
