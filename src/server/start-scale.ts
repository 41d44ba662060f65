/**
 * Starts one hub replica on the scale-out storage: PostgreSQL for manifests, heads and the audit
 * log; Redis (optional) as manifest cache and cross-replica bus; chunks in a folder all replicas
 * share or in S3-compatible object storage. Any number of replicas may run this at once behind a
 * load balancer. Shared by `warmsync serve --postgres` and the scale tests.
 */
import { existsSync } from 'node:fs';
import type { HubLimits } from '../core/limits.ts';
import { createServerMetrics } from '../metrics/server-metrics.ts';
import type { Traces } from '../traces/traces.ts';
import { createServer, type HealthReport } from './app.ts';
import { RedisBus } from './bus.ts';
import { collectGarbage } from './gc.ts';
import { describeRedisUrl, openRedis, type RedisClient } from './redis-connect.ts';
import { activeCursors, type HubTls, listen, type RunningServer, stopListening } from './start.ts';
import { type ChunkStore, FolderChunkStore } from './store/chunks-fs.ts';
import { S3ChunkStore } from './store/chunks-s3.ts';
import { PostgresStore } from './store/postgres.ts';
import { RedisManifestCache } from './store/redis-cache.ts';
import type { Store } from './store/store.ts';
import { type ServiceState, ServiceUnavailableError } from './store/unavailable.ts';

export interface ScaleServerOptions {
  /** postgres://user:password@host:port/database */
  postgres: string;
  /**
   * redis://host:port, redis+cluster://host:port,... or redis+sentinel://host:port,.../master;
   * without it replicas still agree, through the head check alone.
   */
  redis?: string;
  /** A folder every replica shares, or s3://bucket/prefix. */
  chunks: string;
  s3?: { endpoint?: string; region?: string; accessKeyId?: string; secretAccessKey?: string };
  host?: string;
  port?: number;
  /** The admin credential, the same on every replica; without one, loopback only (see listen). */
  token?: string;
  allowedHosts?: readonly string[];
  allowGit?: boolean;
  maxBodyBytes?: number;
  /** Serve HTTPS and WSS with this certificate (PEM); plain HTTP without it. */
  tls?: HubTls;
  limits?: Partial<HubLimits>;
  /** How often each replica compares its agents' head with the durable one (default 1000 ms). */
  headCheckMs?: number;
  /** Days replaced and deleted versions stay recoverable (`serve --history-days`; default 7). */
  historyDays?: number;
  /** Conflict copies kept per path (default 10). */
  copiesPerPath?: number;
  log?: (line: string) => void;
  /** Spans of pushes, commits, fan-outs and fetches (`serve --otlp`). */
  traces?: Traces;
}

export type RunningScaleServer = RunningServer<Store> & { postgres: PostgresStore };

/**
 * @example
 * const replica = await startScaleServer({ postgres: url, redis: redisUrl, chunks: '/srv/chunks' });
 */
export async function startScaleServer(options: ScaleServerOptions): Promise<RunningScaleServer> {
  const log = options.log ?? (() => {});
  const postgres = new PostgresStore({ url: options.postgres, log });
  try {
    await postgres.start();
  } catch (error) {
    // Unreachable is expected (it may come back); wrong credentials or a bad URL are not.
    if (!(error instanceof ServiceUnavailableError)) {
      await postgres.close();
      throw error;
    }
    log(`postgres is unreachable (${(error as Error).message}); answering 503 until it is back`);
  }
  const redis = options.redis ? connectRedis(options.redis, log) : undefined;
  const bus = redis ? new RedisBus(redis, log) : undefined;
  const store: Store = redis ? new RedisManifestCache(postgres, redis) : postgres;
  const s3 = options.chunks.startsWith('s3://')
    ? new S3ChunkStore({ url: options.chunks, ...options.s3 })
    : undefined;
  const folder = s3 ? undefined : new FolderChunkStore(options.chunks);
  const chunks: ChunkStore = s3 ?? (folder as FolderChunkStore);
  let hubCount = () => 0;
  const metrics = createServerMetrics({
    chunkStoreBytes: () => chunks.sizeBytes(),
    connectedAgents: () => hubCount(),
  });
  const health = async (): Promise<HealthReport> => {
    const services: Record<string, ServiceState> = { postgres: await postgres.health() };
    if (redis) services.redis = redis.status === 'ready' && bus?.state() === 'up' ? 'up' : 'down';
    services.chunks = s3 ? await s3.health() : existsSync(options.chunks) ? 'up' : 'down';
    return { ok: services.postgres === 'up', services };
  };
  const sync = createServer({
    store,
    chunks,
    metrics,
    bus,
    health,
    headCheckMs: options.headCheckMs ?? 1000,
    token: options.token,
    allowedHosts: options.allowedHosts,
    allowGit: options.allowGit,
    maxBodyBytes: options.maxBodyBytes,
    limits: options.limits,
    log,
    historyDays: options.historyDays,
    copiesPerPath: options.copiesPerPath,
    traces: options.traces,
    // A shared chunk folder is swept on request (POST /v1/gc); object storage keeps its own
    // lifecycle rules. Expiry needs no chunk sweep, so it runs on request with either.
    collectGarbage: () =>
      folder
        ? collectGarbage(store, folder, gcOptions())
        : collectGarbage(store, { sweep: () => ({ removed: [], bytes: 0 }) }, gcOptions()),
  });
  const gcOptions = () => ({ historyDays: options.historyDays, activeCursors: activeCursors(sync) });
  hubCount = () => sync.hub.count();
  let listening: ReturnType<typeof listen>;
  try {
    listening = listen(sync, {
      host: options.host,
      port: options.port,
      tls: options.tls,
    });
  } catch (error) {
    sync.hub.close();
    await bus?.close();
    redis?.disconnect();
    await store.close();
    throw error;
  }
  const { server, url } = listening;
  return {
    url,
    port: server.port ?? 0,
    sync,
    store,
    postgres,
    async stop() {
      await stopListening(sync, server);
      await bus?.close();
      redis?.disconnect();
      await store.close();
    },
  };
}

/**
 * The shared Redis (one server, a cluster or a master behind Sentinel: see redis-connect.ts),
 * logging its comings and goings once each.
 */
function connectRedis(url: string, log: (line: string) => void): RedisClient {
  const redis = openRedis(url);
  let reported = false;
  redis.on('error', (error: Error) => {
    if (!reported)
      log(`redis ${describeRedisUrl(url)}: ${error.message}; serving from postgres until it is back`);
    reported = true;
  });
  redis.on('ready', () => {
    if (reported) log('redis: connection back');
    reported = false;
  });
  return redis;
}
