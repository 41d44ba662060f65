/**
 * The Redis forms of `--redis`: a three-node Redis Cluster, with a node killed in the middle of a
 * replay, and a master found through Sentinel. Replicas run with the head check practically off,
 * so changes that reach another replica's agents prove the bus itself carried them. Trees must
 * converge with no edit lost. Replay a failure with TEST_SEED=<seed>.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningScaleServer, startScaleServer } from '../../src/server/start-scale.ts';
import { cleanup, startAgent, waitConverged, waitUntil } from '../helpers/harness.ts';
import { Random, testSeed } from '../helpers/random.ts';
import {
  type PostgresService,
  startPostgres,
  startRedisCluster,
  startRedisSentinel,
  stopAllServices,
} from '../helpers/services.ts';
import { sharedChunks, Workload } from './cluster.ts';

let postgres: PostgresService;
const replicas: RunningScaleServer[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterEach(async () => {
  await cleanup();
  for (const replica of replicas.splice(0)) await replica.stop().catch(() => {});
});
afterAll(stopAllServices);

/** A replica whose peers' changes arrive only through Redis (the head check waits an hour). */
async function busOnlyReplica(redis: string, chunks: string): Promise<RunningScaleServer> {
  const replica = await startScaleServer({
    postgres: postgres.url,
    redis,
    chunks,
    port: 0,
    headCheckMs: 3_600_000,
  });
  replicas.push(replica);
  return replica;
}

async function redisUp(replica: RunningScaleServer): Promise<boolean> {
  const report = (await (await fetch(`${replica.url}/healthz`)).json()) as {
    services: Record<string, string>;
  };
  return report.services.redis === 'up';
}

/** Writes `name` in `from` and waits until `to` has it. */
async function carried(from: string, to: string, name: string, what: string): Promise<void> {
  writeFileSync(join(from, name), `${name}\n`);
  await waitUntil(
    () => existsSync(join(to, name)) && readFileSync(join(to, name), 'utf8') === `${name}\n`,
    what,
    30_000,
  );
}

describe('--redis redis+cluster://', () => {
  it('carries changes between replicas through a three-node cluster, and on after a node dies, losing nothing', async () => {
    const cluster = await startRedisCluster(3);
    const chunks = sharedChunks();
    const [a, b] = [await busOnlyReplica(cluster.url, chunks), await busOnlyReplica(cluster.url, chunks)];
    await waitUntil(
      async () => (await redisUp(a)) && (await redisUp(b)),
      'both replicas to reach the cluster',
      20_000,
    );
    const workspace = 'cluster';
    const agents = await Promise.all([
      startAgent({ url: a.url }, { workspace }),
      startAgent({ url: b.url }, { workspace }),
    ]);
    const dirs = agents.map((agent) => agent.tree.root);
    await carried(dirs[0]!, dirs[1]!, 'before.txt', 'a change to cross replicas through the cluster');
    const seed = testSeed();
    const workload = new Workload(dirs, new Random(seed), seed);
    const first = Promise.all(dirs.map((_, who) => workload.run(who, 30)));
    await new Promise((r) => setTimeout(r, 150));
    // The node that owns the most keys of nothing in particular: the first. Its slots stay unserved.
    await cluster.killNode(0);
    await first;
    await Promise.all(dirs.map((_, who) => workload.run(who, 20)));
    // The bus resumes through the nodes left: a new change still crosses, then everything converges.
    await carried(dirs[0]!, dirs[1]!, 'after.txt', 'a change to cross replicas after the node died');
    await carried(dirs[1]!, dirs[0]!, 'after-back.txt', 'a change to cross back after the node died');
    await waitConverged(dirs, `convergence (seed ${seed})`, 60_000);
    expect(workload.lostEdits(dirs[0]!), `lost edits (seed ${seed})`).toEqual([]);
  }, 180_000);
});

describe('--redis redis+sentinel://', () => {
  it('finds the master through Sentinel and carries changes between replicas', async () => {
    const sentinel = await startRedisSentinel();
    const chunks = sharedChunks();
    const [a, b] = [await busOnlyReplica(sentinel.url, chunks), await busOnlyReplica(sentinel.url, chunks)];
    await waitUntil(
      async () => (await redisUp(a)) && (await redisUp(b)),
      'both replicas to reach the master',
      20_000,
    );
    const workspace = 'sentinel';
    const [x, y] = await Promise.all([
      startAgent({ url: a.url }, { workspace }),
      startAgent({ url: b.url }, { workspace }),
    ]);
    await carried(x.tree.root, y.tree.root, 'one.txt', 'a change to cross replicas through the master');
    await carried(y.tree.root, x.tree.root, 'two.txt', 'a change to cross back');
  }, 90_000);
});
