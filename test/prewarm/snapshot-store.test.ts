/**
 * Snapshot manifests in both stores: the embedded SQLite one and PostgreSQL (a throwaway server),
 * with the same expectations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import { PostgresStore } from '../../src/server/store/postgres.ts';
import { SqliteStore } from '../../src/server/store/sqlite.ts';
import type { Store } from '../../src/server/store/store.ts';
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
      const store = new PostgresStore({ url: postgres.url });
      await store.start();
      return store;
    },
  ],
];

const lockA = 'a'.repeat(64);
const lockB = 'b'.repeat(64);

describe.each(makers)('%s store snapshots', (_name, make) => {
  it('returns the stored manifest for its workspace and lockfile only', async () => {
    const store = await make();
    open.push(store);
    await store.putSnapshot('web', lockA, '{"v":1}');
    expect((await store.snapshot('web', lockA))?.manifest).toBe('{"v":1}');
    expect(await store.snapshot('web', lockB)).toBeUndefined();
    expect(await store.snapshot('api', lockA)).toBeUndefined();
  });

  it('replaces the manifest of a lockfile uploaded again', async () => {
    const store = await make();
    open.push(store);
    await store.putSnapshot('web2', lockA, '{"v":1}');
    await store.putSnapshot('web2', lockA, '{"v":2}');
    expect((await store.snapshot('web2', lockA))?.manifest).toBe('{"v":2}');
  });
});

describe('postgres snapshot migration', () => {
  it('runs once when several stores start on one database', async () => {
    const stores = [new PostgresStore({ url: postgres.url }), new PostgresStore({ url: postgres.url })];
    open.push(...stores);
    await Promise.all(stores.map((s) => s.start()));
    await stores[0]!.putSnapshot('web3', lockA, '{}');
    expect((await stores[1]!.snapshot('web3', lockA))?.manifest).toBe('{}');
  });
});
