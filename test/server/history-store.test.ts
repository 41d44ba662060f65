/**
 * History, conflict records and expiry in both stores (the embedded SQLite one and PostgreSQL on a
 * throwaway server), with the same expectations, and the migration of databases made before them.
 */
import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import pg from 'pg';
import { DELETED } from '../../src/core/entry.ts';
import { HUB_ID } from '../../src/core/resolve.ts';
import { PostgresStore } from '../../src/server/store/postgres.ts';
import { SqliteStore } from '../../src/server/store/sqlite.ts';
import type { Store } from '../../src/server/store/store.ts';
import { fileChange } from '../helpers/file-change.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { type PostgresService, startPostgres, stopAllServices } from '../helpers/services.ts';

let postgres: PostgresService;
const open: Store[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const store of open) await store.close();
  await stopAllServices();
  await cleanup();
});

const makers: Array<[string, () => Promise<Store>]> = [
  ['sqlite', async () => new SqliteStore(join(tempDir(), 'warmsync.db'))],
  [
    'postgres',
    async () => {
      const store = new PostgresStore({ url: await postgres.freshDatabase() });
      await store.start();
      return store;
    },
  ],
];

const A = 'aaaaaaaa';
const B = 'bbbbbbbb';

async function push(store: Store, agent: string, path: string, text: string, vector: Record<string, number>) {
  return store.commit({ workspace: 'w', agent, changes: [fileChange(path, text, vector).change] });
}

async function remove(store: Store, agent: string, path: string, vector: Record<string, number>) {
  return store.commit({ workspace: 'w', agent, changes: [{ path, content: DELETED, vector }] });
}

const future = () => new Date(Date.now() + 60_000).toISOString();

describe.each(makers)('%s store history', (_name, make) => {
  it('keeps the versions an edit and a deletion replace, newest first, with the current one', async () => {
    const store = await make();
    open.push(store);
    await push(store, A, 'a.txt', 'one', { [A]: 1 });
    await push(store, A, 'a.txt', 'two', { [A]: 2 });
    await remove(store, A, 'a.txt', { [A]: 3 });
    const versions = await store.history('w', 'a.txt');
    expect(versions.map((v) => [v.seq, v.content.kind, v.replacedSeq])).toEqual([
      [3, 'deleted', undefined],
      [2, 'file', 3],
      [1, 'file', 2],
    ]);
    expect(versions.every((v) => !Number.isNaN(Date.parse(v.at)))).toBe(true);
    const kept = versions.flatMap((v) => (v.content.kind === 'file' ? [v.content.chunks[0]![0]] : []));
    const live = await store.liveChunks();
    for (const hash of kept) expect(live.has(hash)).toBe(true);
  });

  it('records a conflict copy, lists it while the copy is there, and settles it in a hub commit', async () => {
    const store = await make();
    open.push(store);
    await push(store, A, 'c.txt', 'base', { [A]: 1 });
    await push(store, A, 'c.txt', 'from A', { [A]: 2 });
    const outcome = await push(store, B, 'c.txt', 'from B', { [A]: 1, [B]: 1 });
    expect(outcome.conflictCopies).toHaveLength(1);
    const [record] = await store.conflicts('w');
    expect(record).toMatchObject({ path: 'c.txt', keptAgent: A, copyAgent: B, seq: 3 });
    const copy = await store.entry('w', record!.copyPath);
    const stale = await store.commitHub({
      workspace: 'w',
      writes: [{ path: record!.copyPath, content: DELETED, vector: { [HUB_ID]: 9 }, expectSeq: 1 }],
      settle: [{ copyPath: record!.copyPath, how: 'keep-current' }],
    });
    expect(stale).toEqual({ stale: true });
    expect(await store.conflicts('w')).toHaveLength(1);
    const done = await store.commitHub({
      workspace: 'w',
      writes: [{ path: record!.copyPath, content: DELETED, vector: { [HUB_ID]: 9 }, expectSeq: copy!.seq }],
      settle: [{ copyPath: record!.copyPath, how: 'keep-current' }],
    });
    expect(done.stale).toBe(false);
    if (done.stale) return;
    expect(done.entries).toMatchObject([{ path: record!.copyPath, seq: 5, agent: HUB_ID }]);
    expect(await store.conflicts('w')).toEqual([]);
    expect((await store.history('w', record!.copyPath)).map((v) => v.content.kind)).toEqual([
      'deleted',
      'file',
    ]);
  });

  it('drops history and tombstones past retention, raising the floor, and spares those above the limit', async () => {
    const store = await make();
    open.push(store);
    await push(store, A, 'x.txt', 'x', { [A]: 1 });
    await remove(store, A, 'x.txt', { [A]: 2 });
    await push(store, A, 'y.txt', 'y', { [A]: 3 });
    await remove(store, A, 'y.txt', { [A]: 4 });
    const spared = await store.expire({
      cutoff: new Date(0).toISOString(),
      tombstoneLimit: (_ws, head) => head,
    });
    expect(spared).toEqual({ versions: 0, tombstones: 0 });
    // Only up to sequence 2: the tombstone at 4 is above an agent's cursor.
    const report = await store.expire({ cutoff: future(), tombstoneLimit: () => 2 });
    expect(report).toEqual({ versions: 2, tombstones: 1 });
    const page = await store.changesSince('w', 0, 100);
    expect(page.floor).toBe(2);
    expect(page.entries.map((e) => e.path)).toEqual(['y.txt']);
    expect(await store.entry('w', 'x.txt')).toBeUndefined();
    expect(await store.history('w', 'x.txt')).toEqual([]);
    expect((await store.liveChunks()).size).toBe(0);
  });

  it('accepts a version at an expired path under a vector that dominates the dropped tombstone', async () => {
    const store = await make();
    open.push(store);
    await push(store, A, 'z.txt', 'z', { [A]: 1 });
    await remove(store, A, 'z.txt', { [A]: 2 });
    await store.expire({ cutoff: future(), tombstoneLimit: (_ws, head) => head });
    // An edit made, while away, of the version before the deletion.
    const outcome = await push(store, B, 'z.txt', 'edited away', { [A]: 1, [B]: 1 });
    expect(outcome.results[0]).toMatchObject({ status: 'accepted', vector: { [A]: 2, [B]: 1, [HUB_ID]: 1 } });
  });
});

describe('migration of a database made before history', () => {
  it('sqlite: old entries get a time and the store keeps history from then on', async () => {
    const file = join(tempDir(), 'warmsync.db');
    const old = new Database(file, { create: true });
    old.exec(`CREATE TABLE workspaces (name TEXT PRIMARY KEY, head INTEGER NOT NULL DEFAULT 0,
        conflicts INTEGER NOT NULL DEFAULT 0, epoch TEXT);
      CREATE TABLE entries (workspace TEXT NOT NULL, path TEXT NOT NULL, collision_key TEXT NOT NULL,
        live INTEGER NOT NULL, bytes INTEGER NOT NULL, content TEXT NOT NULL, vector TEXT NOT NULL,
        seq INTEGER NOT NULL, agent TEXT NOT NULL, branch TEXT, PRIMARY KEY (workspace, path));`);
    const content = fileChange('old.txt', 'old', { [A]: 1 }).change.content;
    old.query('INSERT INTO workspaces (name, head, epoch) VALUES (?, 1, ?)').run('w', 'e1');
    old
      .query('INSERT INTO entries VALUES (?, ?, ?, 1, 3, ?, ?, 1, ?, NULL)')
      .run('w', 'old.txt', 'old.txt', JSON.stringify(content), JSON.stringify({ [A]: 1 }), A);
    old.close();
    const store = new SqliteStore(file);
    open.push(store);
    expect((await store.changesSince('w', 0, 10)).floor).toBe(0);
    await push(store, A, 'old.txt', 'new', { [A]: 2 });
    const versions = await store.history('w', 'old.txt');
    expect(versions.map((v) => v.seq)).toEqual([2, 1]);
    expect(Number.isNaN(Date.parse(versions[1]!.at))).toBe(false);
  });

  it('postgres: a database at migration 5 moves to 6 and keeps its entries', async () => {
    const url = await postgres.freshDatabase();
    const first = new PostgresStore({ url });
    await first.start();
    await push(first, A, 'p.txt', 'one', { [A]: 1 });
    // Back to the schema before history, as a database from the previous release.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP TABLE history; DROP TABLE conflicts; ALTER TABLE entries DROP COLUMN at;
      ALTER TABLE workspaces DROP COLUMN floor; ALTER TABLE workspaces DROP COLUMN expired_vector; DELETE FROM warmsync_migrations WHERE version = 6;`);
    await client.end();
    await first.close();
    const store = new PostgresStore({ url });
    await store.start();
    open.push(store);
    await push(store, A, 'p.txt', 'two', { [A]: 2 });
    expect((await store.history('w', 'p.txt')).map((v) => v.seq)).toEqual([2, 1]);
    expect((await store.changesSince('w', 0, 10)).floor).toBe(0);
  });
});

describe.each(makers)('%s store recent audit rows', (_name, make) => {
  const row = (workspace: string, path: string, bytes: number) => ({
    workspace,
    agent: A,
    op: 'push' as const,
    path,
    bytes,
    durationMs: 1.5,
    detail: '',
  });

  it('reads the newest rows first, of one workspace or of all, at most the limit, with their time', async () => {
    const store = await make();
    open.push(store);
    await store.audit([row('w', 'one.txt', 1), row('v', 'two.txt', 2)]);
    await store.audit([row('w', 'three.txt', 3)]);
    const ofW = await store.recentAudit('w', 10);
    expect(ofW.map((r) => r.path)).toEqual(['three.txt', 'one.txt']);
    expect(ofW[0]).toMatchObject({
      workspace: 'w',
      agent: A,
      op: 'push',
      bytes: 3,
      durationMs: 1.5,
      detail: '',
    });
    expect(Number.isNaN(Date.parse(ofW[0]?.at ?? ''))).toBe(false);
    expect((await store.recentAudit(undefined, 2)).map((r) => r.path)).toEqual(['three.txt', 'two.txt']);
    expect(await store.recentAudit('none', 10)).toEqual([]);
  });
});
