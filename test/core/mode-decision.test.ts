import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import { decideUnderMode, type ModeDecision } from '../../src/core/mode-decision.ts';
import { type BaseVersion, type RemoteVersion, reconcilePath } from '../../src/core/reconcile.ts';
import { policyOf, type SyncMode } from '../../src/core/sync-mode.ts';
import { compareVectors } from '../../src/core/vector.ts';

const file = (digit: string): EntryContent => {
  const hash = digit.repeat(64);
  return { kind: 'file', hash, size: 4, exec: false, chunks: [[hash, 4]] };
};
const F1 = file('1');
const F2 = file('2');
const F3 = file('3');
const ME = 'aaaaaaaaaaaaaaaa';
const BASE: BaseVersion = { content: F1, vector: { bbbbbbbbbbbbbbbb: 2 } };
const NEWER: RemoteVersion = { content: F2, vector: { bbbbbbbbbbbbbbbb: 3 } };

type Case = [
  name: string,
  base: BaseVersion | undefined,
  local: EntryContent,
  remote: RemoteVersion | undefined,
];
const CASES: Case[] = [
  ['in agreement', BASE, F1, undefined],
  ['remote edit only', BASE, F1, NEWER],
  ['local edit only', BASE, F3, undefined],
  ['both edited', BASE, F3, NEWER],
  ['both made the same edit', BASE, F2, NEWER],
  ['new local file', undefined, F3, undefined],
  ['local deletion', BASE, DELETED, undefined],
];

/** The expected decision type for each mode, in CASES order. */
const EXPECTED: Record<SyncMode, ModeDecision['type'][]> = {
  'two-way': ['nothing', 'apply', 'push', 'push', 'adopt', 'push', 'push'],
  'send-only': ['nothing', 'skip-remote', 'push', 'push', 'adopt', 'push', 'push'],
  'receive-only': ['nothing', 'apply', 'keep-local', 'keep-local', 'adopt', 'keep-local', 'keep-local'],
  replica: ['nothing', 'apply', 'overwrite', 'overwrite', 'adopt', 'overwrite', 'overwrite'],
};

const decide = (mode: SyncMode, [, base, local, remote]: Case) =>
  decideUnderMode(policyOf(mode), reconcilePath(ME, base, local, remote), ME, base, remote);

describe('decideUnderMode', () => {
  for (const mode of Object.keys(EXPECTED) as SyncMode[])
    CASES.forEach((row, i) => {
      it(`${mode}, ${row[0]}: ${EXPECTED[mode][i]}`, () => {
        expect(decide(mode, row).type).toBe(EXPECTED[mode][i]!);
      });
    });

  it('leaves two-way decisions exactly as reconcile made them', () => {
    for (const row of CASES) {
      const [, base, local, remote] = row;
      expect(decide('two-way', row)).toEqual(reconcilePath(ME, base, local, remote));
    }
  });

  it('replica overwrites with the newer remote version when there is one', () => {
    expect(decide('replica', CASES[3]!)).toEqual({
      type: 'overwrite',
      content: F2,
      vector: NEWER.vector,
      fromRemote: true,
    });
  });

  it('replica restores the base over a local edit when nothing newer came', () => {
    expect(decide('replica', CASES[2]!)).toEqual({
      type: 'overwrite',
      content: F1,
      vector: BASE.vector,
      fromRemote: false,
    });
  });

  it('replica removes a file the workspace never had', () => {
    const decision = decide('replica', CASES[5]!);
    expect(decision).toEqual({ type: 'overwrite', content: DELETED, vector: {}, fromRemote: false });
  });

  it('send-only supersedes the remote version it was told of, so its edit is no conflict', () => {
    const decision = decide('send-only', CASES[3]!);
    if (decision.type !== 'push') throw new Error(`expected a push, got ${decision.type}`);
    expect(decision.content).toEqual(F3);
    expect(compareVectors(decision.vector, NEWER.vector)).toBe('after');
    expect(compareVectors(decision.vector, BASE.vector)).toBe('after');
  });

  it('two-way keeps a concurrent edit concurrent, so the hub makes a conflict copy', () => {
    const decision = decide('two-way', CASES[3]!);
    if (decision.type !== 'push') throw new Error(`expected a push, got ${decision.type}`);
    expect(compareVectors(decision.vector, NEWER.vector)).toBe('concurrent');
  });
});
