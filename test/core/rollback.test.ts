import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import type { BaseVersion } from '../../src/core/reconcile.ts';
import { reconcilePath } from '../../src/core/reconcile.ts';
import { baseAfterRollback } from '../../src/core/rollback.ts';

const file = (hash: string): EntryContent => ({
  kind: 'file',
  hash: hash.repeat(64).slice(0, 64),
  size: 1,
  exec: false,
  chunks: [],
});
const NEW = file('b');
const OLD = file('a');
const ME = 'aaaaaaaaaaaaaaaa';
const PEER = 'bbbbbbbbbbbbbbbb';
const base: BaseVersion = { content: NEW, vector: { [ME]: 7 } };

describe('baseAfterRollback', () => {
  const rows: Array<[what: string, hub: BaseVersion | undefined, expected: BaseVersion]> = [
    ['the hub still holds the base', { content: NEW, vector: { [ME]: 7 } }, base],
    ['the hub moved past the base', { content: OLD, vector: { [ME]: 7, [PEER]: 1 } }, base],
    [
      'the hub holds an older version',
      { content: OLD, vector: { [ME]: 5 } },
      { content: OLD, vector: base.vector },
    ],
    ['the hub lost the path', undefined, { content: DELETED, vector: base.vector }],
    [
      'the hub holds other content under the same vector',
      { content: OLD, vector: { [ME]: 7 } },
      { content: OLD, vector: base.vector },
    ],
    [
      'the hub holds a concurrent version',
      { content: OLD, vector: { [PEER]: 3 } },
      { content: OLD, vector: base.vector },
    ],
  ];
  for (const [what, hub, expected] of rows) {
    it(what, () => expect(baseAfterRollback(base, hub)).toEqual(expected));
  }

  it('makes the agent push what the hub lost, with a vector that dominates the older version', () => {
    const hub = { content: OLD, vector: { [ME]: 5 } };
    const decision = reconcilePath(ME, baseAfterRollback(base, hub), NEW, hub);
    expect(decision).toEqual({ type: 'push', content: NEW, vector: { [ME]: 8 } });
  });

  it('makes the agent push a deletion the hub lost', () => {
    const deleted: BaseVersion = { content: DELETED, vector: { [ME]: 9 } };
    const hub = { content: OLD, vector: { [ME]: 5 } };
    expect(reconcilePath(ME, baseAfterRollback(deleted, hub), DELETED, hub).type).toBe('push');
  });

  it('leaves a version the hub moved past to be applied as usual', () => {
    const hub = { content: OLD, vector: { [ME]: 7, [PEER]: 1 } };
    expect(reconcilePath(ME, baseAfterRollback(base, hub), NEW, hub).type).toBe('apply');
  });
});
