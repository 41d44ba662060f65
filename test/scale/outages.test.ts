/**
 * Failures of the scale-out deployment while agents are editing: a replica killed with SIGKILL
 * (its agents move along their --server list), Redis restarted (the bus and cache come back
 * empty), and Redis flushed. In every case the trees converge and no edit is lost.
 * Replay a failure with TEST_SEED=<seed>.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { Redis } from 'ioredis';
import { cleanup, startAgent, waitConverged } from '../helpers/harness.ts';
import { freePort, startCli, stopAllCli, waitHealthy } from '../helpers/processes.ts';
import { Random, testSeed } from '../helpers/random.ts';
import {
  type PostgresService,
  type RedisService,
  startPostgres,
  startRedis,
  stopAllServices,
} from '../helpers/services.ts';
import { type Shared, sharedChunks, startReplica, stopReplicas, Workload } from './cluster.ts';

let postgres: PostgresService;
let redis: RedisService;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
}, 60_000);
afterEach(async () => {
  await cleanup();
  await stopAllCli();
  await stopReplicas();
});
afterAll(stopAllServices);

/** Runs the workload in two halves with `disrupt` in between, then checks the outcome. */
async function replayAround(dirs: string[], workspace: string, disrupt: () => Promise<void>): Promise<void> {
  const seed = testSeed();
  const workload = new Workload(dirs, new Random(seed), seed);
  const first = Promise.all(dirs.map((_, who) => workload.run(who, 40)));
  await new Promise((r) => setTimeout(r, 150));
  await disrupt();
  await first;
  await Promise.all(dirs.map((_, who) => workload.run(who, 30)));
  await waitConverged(dirs, `convergence in ${workspace} (seed ${seed})`, 60_000);
  expect(workload.lostEdits(dirs[0]!), `lost edits (seed ${seed})`).toEqual([]);
}

describe('outages', () => {
  it('moves the agents of a killed replica to the next one in their list, losing nothing', async () => {
    const shared: Shared = { postgres: postgres.url, redis: redis.url, chunks: sharedChunks() };
    const port = await freePort();
    const doomed = startCli([
      'serve',
      '--postgres',
      shared.postgres,
      '--redis',
      redis.url,
      '--chunks',
      shared.chunks,
      '--port',
      String(port),
      '--no-auth',
    ]);
    const doomedUrl = `http://127.0.0.1:${port}`;
    await waitHealthy(doomedUrl);
    const [b, c] = await Promise.all([startReplica(shared), startReplica(shared)]);
    const workspace = 'failover';
    const agents = await Promise.all([
      startAgent({ url: `${doomedUrl},${b.url},${c.url}` }, { workspace }),
      startAgent({ url: `${doomedUrl},${c.url},${b.url}` }, { workspace }),
      startAgent({ url: `${b.url},${c.url}` }, { workspace }),
      startAgent({ url: `${c.url},${b.url}` }, { workspace }),
    ]);
    await replayAround(
      agents.map((a) => a.tree.root),
      workspace,
      () => doomed.kill('SIGKILL'),
    );
  }, 120_000);

  it('recovers from a Redis restart in the middle of a replay', async () => {
    const shared: Shared = { postgres: postgres.url, redis: redis.url, chunks: sharedChunks() };
    const replicas = await Promise.all([startReplica(shared), startReplica(shared), startReplica(shared)]);
    const workspace = 'redis-restart';
    const agents = await Promise.all(
      [0, 1, 2].map((i) => startAgent({ url: replicas[i]!.url }, { workspace })),
    );
    await replayAround(
      agents.map((a) => a.tree.root),
      workspace,
      () => redis.restart(),
    );
    // The bus is back: /healthz says so once the subscriber has reconnected.
    const health = (await (await fetch(`${replicas[0]!.url}/healthz`)).json()) as {
      services: Record<string, string>;
    };
    expect(health.services.postgres).toBe('up');
  }, 120_000);

  it('recovers from FLUSHALL in the middle of a replay', async () => {
    const shared: Shared = { postgres: postgres.url, redis: redis.url, chunks: sharedChunks() };
    const replicas = await Promise.all([startReplica(shared), startReplica(shared), startReplica(shared)]);
    const workspace = 'redis-flush';
    const agents = await Promise.all(
      [0, 1, 2].map((i) => startAgent({ url: replicas[i]!.url }, { workspace })),
    );
    await replayAround(
      agents.map((a) => a.tree.root),
      workspace,
      async () => {
        const client = new Redis(redis.url);
        await client.flushall();
        client.disconnect();
      },
    );
  }, 120_000);

  it('converges without any bus: each replica notices new heads in the shared store', async () => {
    const shared: Shared = { postgres: postgres.url, chunks: sharedChunks() };
    const replicas = await Promise.all([startReplica(shared), startReplica(shared)]);
    const workspace = 'no-bus';
    const agents = await Promise.all(
      [0, 1, 0].map((i) => startAgent({ url: replicas[i]!.url }, { workspace })),
    );
    await replayAround(
      agents.map((a) => a.tree.root),
      workspace,
      async () => {},
    );
  }, 120_000);

  it('answers 503 with a reason while PostgreSQL is unreachable, and reports it in /healthz', async () => {
    const replica = await startReplica({
      postgres: 'postgres://postgres@127.0.0.1:9/postgres',
      chunks: sharedChunks(),
    });
    const health = await fetch(`${replica.url}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { services: { postgres: string } }).services.postgres).toBe('down');
    const changes = await fetch(`${replica.url}/v1/workspaces/w/changes?since=0`);
    expect(changes.status).toBe(503);
    expect(((await changes.json()) as { message: string }).message).toContain('postgres is unavailable');
  }, 60_000);
});
