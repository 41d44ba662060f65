/**
 * A workspace's live file count and bytes, as `workspaces()` reports them to the dashboard and
 * `/v1/status`: kept up to date by every write to the manifest (so reading them costs the same on
 * a workspace of ten files and of a million), in both stores, and filled in for a database made
 * before they were kept.
 */
import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import pg from 'pg';
import { DELETED } from '../../src/core/entry.ts';
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
  for (const store of open) await store.close().catch(() => {});
  await stopAllServices();
  await cleanup();
});

async function openPostgres(url: string): Promise<PostgresStore> {
  const store = new PostgresStore({ url });
  await store.start();
  open.push(store);
  return store;
}

const makers: Array<[string, () => Promise<Store>]> = [
  [
    'sqlite',
    async () => {
      const store = new SqliteStore(join(tempDir(), 'warmsync.db'));
      open.push(store);
      return store;
    },
  ],
  ['postgres', async () => openPostgres(await postgres.freshDatabase())],
];

const A = 'aaaaaaaa';

async function put(store: Store, workspace: string, path: string, text: string, n: number) {
  await store.commit({ workspace, agent: A, changes: [fileChange(path, text, { [A]: n }).change] });
}

async function remove(store: Store, workspace: string, path: string, n: number) {
  await store.commit({ workspace, agent: A, changes: [{ path, content: DELETED, vector: { [A]: n } }] });
}

/** The totals `workspaces()` reports, by name. */
async function totals(store: Store): Promise<Record<string, [number, number]>> {
  const out: Record<string, [number, number]> = {};
  for (const w of await store.workspaces()) out[w.name] = [w.files, w.bytes];
  return out;
}

describe.each(makers)('%s store workspace totals', (_name, make) => {
  it('follow creations, growing and shrinking edits, deletions and recreations, per workspace', async () => {
    const store = await make();
    await put(store, 'w', 'a.txt', 'aaaa', 1);
    await put(store, 'w', 'b.txt', 'bb', 2);
    await put(store, 'other', 'c.txt', 'c', 1);
    expect(await totals(store)).toEqual({ other: [1, 1], w: [2, 6] });
    await put(store, 'w', 'a.txt', 'a much longer text', 3);
    expect((await totals(store)).w).toEqual([2, 20]);
    await put(store, 'w', 'a.txt', 'a', 4);
    expect((await totals(store)).w).toEqual([2, 3]);
    await remove(store, 'w', 'b.txt', 5);
    expect((await totals(store)).w).toEqual([1, 1]);
    await put(store, 'w', 'b.txt', 'back', 6);
    expect((await totals(store)).w).toEqual([2, 5]);
    // A push of many paths at once, as a first sync's slice is.
    const many = Array.from(
      { length: 50 },
      (_, i) => fileChange(`dir/f${i}.txt`, 'x'.repeat(i), { [A]: 7 }).change,
    );
    await store.commit({ workspace: 'w', agent: A, changes: many });
    expect((await totals(store)).w).toEqual([52, 5 + (49 * 50) / 2]);
    expect((await totals(store)).other).toEqual([1, 1]);
  });

  it('are unchanged by the expiry of tombstones, which were not live', async () => {
    const store = await make();
    await put(store, 'w', 'x.txt', 'xx', 1);
    await remove(store, 'w', 'x.txt', 2);
    await put(store, 'w', 'y.txt', 'yyy', 3);
    const report = await store.expire({
      cutoff: new Date(Date.now() + 60_000).toISOString(),
      tombstoneLimit: (_ws, head) => head,
    });
    expect(report.tombstones).toBe(1);
    expect(await totals(store)).toEqual({ w: [1, 3] });
  });
});

describe('a database made before the totals were kept', () => {
  it('sqlite: gets them counted once on open, then kept', async () => {
    const file = join(tempDir(), 'warmsync.db');
    const first = new SqliteStore(file);
    await put(first, 'w', 'a.txt', 'aaaa', 1);
    await put(first, 'w', 'b.txt', 'bb', 2);
    await remove(first, 'w', 'b.txt', 3);
    await first.close();
    // What an older version left: no total columns and no triggers.
    const old = new Database(file);
    for (const { name } of old
      .query("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'entries'")
      .all() as Array<{ name: string }>)
      old.exec(`DROP TRIGGER ${name}`);
    for (const column of ['live_files', 'live_bytes'])
      old.exec(`ALTER TABLE workspaces DROP COLUMN ${column}`);
    old.close();
    const again = new SqliteStore(file);
    open.push(again);
    expect(await totals(again)).toEqual({ w: [1, 4] });
    await put(again, 'w', 'c.txt', 'ccc', 4);
    expect(await totals(again)).toEqual({ w: [2, 7] });
  });

  it('postgres: gets them counted by the migration, then kept', async () => {
    const url = await postgres.freshDatabase();
    const first = await openPostgres(url);
    await put(first, 'w', 'a.txt', 'aaaa', 1);
    await put(first, 'w', 'b.txt', 'bb', 2);
    await first.close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // Undo migration 7, the one that keeps the totals.
    await admin.query('DELETE FROM warmsync_migrations WHERE version = 7');
    await admin.query('DROP TRIGGER IF EXISTS entries_totals_insert ON entries');
    await admin.query('DROP TRIGGER IF EXISTS entries_totals_update ON entries');
    await admin.query('DROP TRIGGER IF EXISTS entries_totals_delete ON entries');
    await admin.query(
      'ALTER TABLE workspaces DROP COLUMN IF EXISTS live_files, DROP COLUMN IF EXISTS live_bytes',
    );
    await admin.end();
    const again = await openPostgres(url);
    expect(await totals(again)).toEqual({ w: [2, 6] });
    await remove(again, 'w', 'a.txt', 3);
    expect(await totals(again)).toEqual({ w: [1, 2] });
  });
});
