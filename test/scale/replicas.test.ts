/**
 * Three hub replicas on one PostgreSQL, one Redis and one chunk folder: agents spread over them
 * converge, a change reaches another replica's agent through the bus, concurrent edits of one path
 * through two replicas give one winner and one conflict copy, and the audit log holds every
 * operation in its monthly partition, across a replica restart.
 * Replay a failure with TEST_SEED=<seed>.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { auditPartitions } from '../../src/server/store/postgres-schema.ts';
import { cleanup, describeTree, startAgent, waitConverged, waitUntil } from '../helpers/harness.ts';
import { Random, testSeed } from '../helpers/random.ts';
import {
  type PostgresService,
  type RedisService,
  startPostgres,
  startRedis,
  stopAllServices,
} from '../helpers/services.ts';
import { pushFiles, type Shared, sharedChunks, startReplica, stopReplicas, Workload } from './cluster.ts';

let postgres: PostgresService;
let redis: RedisService;
let shared: Shared;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
}, 60_000);
afterEach(async () => {
  await cleanup();
  await stopReplicas();
});
afterAll(stopAllServices);

const setup = async () => {
  shared = { postgres: postgres.url, redis: redis.url, chunks: sharedChunks() };
  return Promise.all([startReplica(shared), startReplica(shared), startReplica(shared)]);
};

describe('three replicas', () => {
  it('converge under a seeded random workload with agents spread over the replicas', async () => {
    const seed = testSeed();
    const replicas = await setup();
    const workspace = `converge-${seed}`;
    const agents = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => startAgent({ url: replicas[i % 3]!.url }, { workspace })),
    );
    const dirs = agents.map((a) => a.tree.root);
    const workload = new Workload(dirs, new Random(seed), seed);
    await Promise.all(dirs.map((_, who) => workload.run(who, 60)));
    await waitConverged(dirs, `convergence (seed ${seed})`, 60_000);
    expect(workload.lostEdits(dirs[0]!), `lost edits (seed ${seed})`).toEqual([]);
    for (const [path, kind] of describeTree(dirs[0]!)) {
      if (!kind.startsWith('file:') || path.includes('.conflict-')) continue;
      const text = readFileSync(join(dirs[0]!, path), 'utf8');
      expect(workload.written.has(text), `unexpected content at ${path} (seed ${seed})`).toBe(true);
    }
  }, 120_000);

  it("brings a change pushed through one replica to another replica's agent live", async () => {
    const replicas = await setup();
    const workspace = 'live';
    const a = await startAgent({ url: replicas[0]!.url }, { workspace });
    const b = await startAgent({ url: replicas[1]!.url }, { workspace });
    const started = performance.now();
    writeFileSync(join(a.tree.root, 'note.txt'), 'from replica A\n');
    const target = join(b.tree.root, 'note.txt');
    await waitUntil(
      () => existsSync(target) && readFileSync(target, 'utf8') === 'from replica A\n',
      'fan-out',
    );
    // The head check runs every 500 ms here; a live delivery is far quicker than that.
    expect(performance.now() - started).toBeLessThan(450);
  }, 60_000);

  it('gives exactly one winner and one conflict copy for one path pushed through two replicas at once', async () => {
    const replicas = await setup();
    const workspace = 'race';
    for (let round = 0; round < 5; round++) {
      const path = `same-${round}.txt`;
      const [one, two] = await Promise.all([
        pushFiles(replicas[0]!.url, workspace, 'a9e0001e', [
          { path, text: 'one\n', vector: { a9e0001e: 1 } },
        ]),
        pushFiles(replicas[1]!.url, workspace, 'a9e0002e', [
          { path, text: 'two\n', vector: { a9e0002e: 1 } },
        ]),
      ]);
      const statuses = [one.results[0]!.status, two.results[0]!.status].sort();
      expect(statuses).toEqual(['accepted', 'conflict']);
      const { entries } = await replicas[2]!.store.changesSince(workspace, 0, 1000);
      const copies = entries.filter((e) => e.path.startsWith(`same-${round}.conflict-`));
      expect(copies.length).toBe(1);
      expect(entries.some((e) => e.path === path)).toBe(true);
    }
    // Dense sequence numbers: 5 rounds x (first version + settled winner + copy).
    const { head, entries } = await replicas[0]!.store.changesSince(workspace, 0, 1000);
    expect(head).toBe(15);
    expect(new Set(entries.map((e) => e.seq)).size).toBe(entries.length);
  }, 60_000);

  it('commits a push sent to two replicas under one push id once, and answers both the same', async () => {
    const replicas = await setup();
    const pushId = 'abcdef0123456789abcdef0123456789';
    const file = [{ path: 'once.txt', text: 'once\n', vector: { a9e0003e: 1 } }];
    const [one, two] = await Promise.all([
      pushFiles(replicas[0]!.url, 'replay', 'a9e0003e', file, pushId),
      pushFiles(replicas[1]!.url, 'replay', 'a9e0003e', file, pushId),
    ]);
    expect(one.results).toEqual(two.results);
    expect(one.results.map((r) => r.status)).toEqual(['accepted']);
    // Sent once more to the third, later: answered from the record PostgreSQL keeps.
    const three = await pushFiles(replicas[2]!.url, 'replay', 'a9e0003e', file, pushId);
    expect(three.results).toEqual(one.results);
    const { head } = await replicas[2]!.store.changesSince('replay', 0, 1000);
    expect(head).toBe(1);
  }, 60_000);

  it('keeps one audit row per accepted operation in the monthly partition, across a replica restart', async () => {
    const replicas = await setup();
    const workspace = 'audited';
    const pushes = await Promise.all(
      replicas.map((r, i) =>
        pushFiles(r.url, workspace, `a9e0000${i}`, [
          { path: `r${i}/one.txt`, text: `one ${i}\n`, vector: { [`a9e0000${i}`]: 1 } },
          { path: `r${i}/two.txt`, text: `two ${i}\n`, vector: { [`a9e0000${i}`]: 1 } },
        ]),
      ),
    );
    const accepted = pushes.flatMap((p) => p.results).filter((r) => r.status === 'accepted').length;
    expect(accepted).toBe(6);
    const [thisMonth] = auditPartitions(new Date());
    let rows = await replicas[0]!.postgres.auditRows(workspace);
    expect(rows.filter((r) => r.op === 'push').length).toBe(accepted);
    expect(new Set(rows.map((r) => r.partition))).toEqual(new Set([thisMonth![0]]));

    await replicas[0]!.stop();
    const again = await startReplica(shared);
    rows = await again.postgres.auditRows(workspace);
    expect(rows.filter((r) => r.op === 'push').length).toBe(accepted);
    await pushFiles(again.url, workspace, 'a9e00000', [
      { path: 'after.txt', text: 'x', vector: { a9e00000: 2 } },
    ]);
    expect((await again.postgres.auditRows(workspace)).length).toBe(accepted + 1);
  }, 60_000);

  it('creates this month and the next two months of audit partitions, and rows land by date', async () => {
    await setup();
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const parts = await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'audit'::regclass`,
      );
      const expected = auditPartitions(new Date()).map(([name]) => name);
      expect(expected.length).toBe(3);
      for (const name of expected) expect(parts.rows.map((r) => r.name)).toContain(name);
      const [, next] = auditPartitions(new Date());
      const landed = await client.query<{ partition: string }>(
        `INSERT INTO audit (at, workspace, agent, op, path, bytes, duration_ms, detail)
         VALUES ($1, 'dated', 'agentx', 'push', 'p', 0, 0, '') RETURNING tableoid::regclass::text AS partition`,
        [next![1]],
      );
      expect(landed.rows[0]!.partition).toBe(next![0]);
    } finally {
      await client.end();
    }
  }, 60_000);

  it('runs migrations once when replicas start together, and again harmlessly', async () => {
    await setup();
    await setup();
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const versions = await client.query<{ version: number }>(
      'SELECT version FROM warmsync_migrations ORDER BY version',
    );
    await client.end();
    // One row per migration: 1 the sync schema, 2 dependency snapshots, 3 push answers, 4 epochs,
    // 5 credentials, 6 history and conflicts.
    expect(versions.rows.map((r) => Number(r.version))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 60_000);
});
