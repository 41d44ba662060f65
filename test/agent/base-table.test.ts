/**
 * The packed base records: every shape of base comes back as it was set, from memory and from
 * the state database, and a record just set or just read is the same object on the next read.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseTable } from '../../src/agent/base-table.ts';
import { AgentState, type BaseRecord } from '../../src/agent/state.ts';

const H = (c: string) => c.repeat(64);
const stat = {
  size: 5,
  mtimeMs: 1_700_000_000_123.25,
  ctimeMs: 1_700_000_000_124.5,
  ino: 4_294_967_301,
  mode: 0o100644,
};

/** One record of each shape the agent keeps. */
const CASES: Array<[name: string, record: BaseRecord]> = [
  [
    'a one-chunk file with its stat',
    {
      content: { kind: 'file', hash: H('a'), size: 5, exec: false, chunks: [[H('b'), 5]], mode: 0o644 },
      vector: { agent1: 3 },
      stat,
      statAt: 1_700_000_000_200,
      ownWrite: true,
    },
  ],
  [
    'a file of several chunks, executable, without mode',
    {
      content: {
        kind: 'file',
        hash: H('c'),
        size: 300_000,
        exec: true,
        chunks: [
          [H('d'), 100_000],
          [H('e'), 200_000],
        ],
      },
      vector: { agent1: 1, agent2: 7 },
      ownWrite: false,
    },
  ],
  [
    'an empty file',
    {
      content: { kind: 'file', hash: H('f'), size: 0, exec: false, chunks: [] },
      vector: {},
      ownWrite: false,
    },
  ],
  [
    'a file whose hashes are not SHA-256 hex',
    {
      content: { kind: 'file', hash: 'h1', size: 3, exec: false, chunks: [['c1', 3]] },
      vector: { a: 1 },
      ownWrite: false,
    },
  ],
  ['a folder', { content: { kind: 'dir' }, vector: { a: 2 }, stat, ownWrite: false }],
  ['a link', { content: { kind: 'symlink', target: '../x y/ü' }, vector: { a: 3 }, ownWrite: false }],
  ['a tombstone', { content: { kind: 'deleted' }, vector: { a: 4 }, ownWrite: false }],
];

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('BaseTable', () => {
  for (const [name, record] of CASES) {
    it(`unpacks ${name} as it was set`, () => {
      const table = new BaseTable();
      table.set('p', record);
      table.takeFresh();
      expect(table.get('p')).toEqual(record);
      expect([...table]).toEqual([['p', record]]);
    });
  }

  it('returns a record just set as the same object until it is written', () => {
    const table = new BaseTable();
    const record = CASES[0]![1];
    table.set('p', record);
    expect(table.get('p')).toBe(record);
    expect(table.takeFresh().get('p')).toBe(record);
    expect(table.get('p')).not.toBe(record);
  });

  it('returns the same unpacked object for repeated reads of one path', () => {
    const table = new BaseTable();
    table.load('p', CASES[0]![1]);
    table.load('q', CASES[1]![1]);
    const first = table.get('p');
    expect(table.get('p')).toBe(first!);
    table.set('p', CASES[4]![1]);
    expect(table.get('p')).toEqual(CASES[4]![1]);
  });

  it('keeps records whose write failed for the next flush', () => {
    const table = new BaseTable();
    table.set('p', CASES[0]![1]);
    const taken = table.takeFresh();
    table.set('p', CASES[5]![1]);
    table.restoreFresh(taken);
    expect(table.takeFresh().get('p')).toBe(CASES[5]![1]);
  });

  it('counts its live files (files and links) as records are set, replaced and loaded', () => {
    const table = new BaseTable();
    for (const [name, record] of CASES) table.set(name, record);
    const live = CASES.filter(([, r]) => r.content.kind !== 'dir' && r.content.kind !== 'deleted');
    expect(table.liveFiles).toBe(live.length);
    const tombstone = CASES[6]![1];
    table.set(CASES[0]![0], tombstone); // a file deleted
    table.set(CASES[4]![0], CASES[5]![1]); // a folder replaced by a link
    table.set(CASES[5]![0], CASES[5]![1]); // a link set again
    expect(table.liveFiles).toBe(live.length);
    table.load('more', CASES[1]![1]);
    expect(table.liveFiles).toBe(live.length + 1);
    expect(table.liveFiles).toBe(
      [...table.values()].filter((r) => r.content.kind !== 'dir' && r.content.kind !== 'deleted').length,
    );
  });

  it("keeps an own write's proving stat in memory, and not in the state database", () => {
    const proven: BaseRecord = {
      content: { kind: 'file', hash: H('a'), size: 5, exec: true, chunks: [[H('b'), 5]], mode: 0o777 },
      vector: { agent1: 4 },
      stat,
      statAt: 1_700_000_000_200,
      ownWrite: true,
      statProves: true,
    };
    const table = new BaseTable();
    table.set('p', proven);
    table.takeFresh();
    expect(table.get('p')).toEqual(proven);
    const dir = mkdtempSync(join(tmpdir(), 'base-table-'));
    dirs.push(dir);
    const state = new AgentState(dir);
    state.setBase('p', proven);
    state.close();
    const again = new AgentState(dir);
    // A restarted agent reads the file when the watcher names it, as for any base.
    const { statProves: _, ...rest } = proven;
    expect(again.base('p')).toEqual({ ...rest, ownWrite: true });
    again.close();
  });

  it('comes back whole from the state database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'base-table-'));
    dirs.push(dir);
    const state = new AgentState(dir);
    for (const [name, record] of CASES) state.setBase(name, record);
    state.close();
    const again = new AgentState(dir);
    for (const [name, record] of CASES) expect(again.base(name)).toEqual(record);
    expect(again.bases.size).toBe(CASES.length);
    expect(again.bases.liveFiles).toBe(5); // four files and a link
    again.close();
  });
});
