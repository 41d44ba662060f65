/**
 * The Redis a set of hub replicas shares, from the `--redis` URL: one server, a Redis Cluster, or
 * a master found through Sentinel, each through ioredis's own client for it.
 *
 * - `redis://[:PASSWORD@]HOST:PORT[/DB]` (or `rediss://` for TLS): one server.
 * - `redis+cluster://[:PASSWORD@]HOST:PORT,HOST:PORT,...`: a Redis Cluster; the nodes listed are
 *   where discovery starts, the client learns the rest and follows slot moves and failovers.
 * - `redis+sentinel://[:PASSWORD@]HOST:PORT,HOST:PORT,.../MASTER`: the master named MASTER, as
 *   the sentinels listed report it; after a failover the client follows the new master.
 *
 * Every form fails fast while Redis is away (the cache and the bus are optional paths; PostgreSQL
 * holds the truth) and reconnects forever in the background.
 */
import { Cluster, Redis } from 'ioredis';

/** What the cache and the bus need from a connection: both clients have it. */
export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { kind: 'server'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; password?: string }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; master: string; password?: string };

/** Thrown for a `--redis` value that names no Redis. */
export class RedisUrlError extends Error {
  readonly code = 'redis-url';
}

const FORMS =
  'redis://HOST:PORT, redis+cluster://HOST:PORT,HOST:PORT,... or redis+sentinel://HOST:PORT,.../MASTER';

/** Reads a `--redis` URL into what to connect to. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//.exec(url)?.[1];
  if (scheme === 'redis' || scheme === 'rediss') return { kind: 'server', url };
  if (scheme !== 'redis+cluster' && scheme !== 'redis+sentinel')
    throw new RedisUrlError(`--redis must be one of ${FORMS}`);
  const rest = url.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@');
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const afterAuth = at >= 0 ? rest.slice(at + 1) : rest;
  const slash = afterAuth.indexOf('/');
  const hostList = slash >= 0 ? afterAuth.slice(0, slash) : afterAuth;
  const path = slash >= 0 ? afterAuth.slice(slash + 1) : '';
  const password = auth.includes(':') ? decodeURIComponent(auth.slice(auth.indexOf(':') + 1)) : undefined;
  const hosts = hostList.split(',').map((part) => parseHostPort(part.trim()));
  if (hosts.length === 0) throw new RedisUrlError(`--redis names no host; use ${FORMS}`);
  if (scheme === 'redis+cluster') {
    if (path !== '') throw new RedisUrlError('a Redis Cluster has no database number: drop the /PATH');
    return { kind: 'cluster', nodes: hosts, ...(password === undefined ? {} : { password }) };
  }
  const master = decodeURIComponent(path);
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(master))
    throw new RedisUrlError('redis+sentinel:// needs the master name after the hosts: .../MASTER');
  return { kind: 'sentinel', sentinels: hosts, master, ...(password === undefined ? {} : { password }) };
}

function parseHostPort(part: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.exec(part);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new RedisUrlError(`"${part}" is not HOST:PORT`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Options of every connection: fail fast while away, retry in the background. */
const FAIL_FAST = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 1000,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
} as const;

/** Opens the connection `url` names. */
export function openRedis(url: string): RedisClient {
  const target = parseRedisUrl(url);
  switch (target.kind) {
    case 'server':
      return new Redis(url, FAIL_FAST);
    case 'cluster':
      return new Cluster(target.nodes, {
        enableOfflineQueue: false,
        clusterRetryStrategy: FAIL_FAST.retryStrategy,
        redisOptions: {
          maxRetriesPerRequest: 1,
          commandTimeout: FAIL_FAST.commandTimeout,
          ...(target.password === undefined ? {} : { password: target.password }),
        },
      });
    case 'sentinel':
      return new Redis({
        ...FAIL_FAST,
        sentinels: target.sentinels,
        name: target.master,
        ...(target.password === undefined ? {} : { password: target.password }),
        sentinelRetryStrategy: FAIL_FAST.retryStrategy,
      });
  }
}

/** The URL with its password hidden, for logs. */
export function describeRedisUrl(url: string): string {
  return url.replace(
    /\/\/([^@/]*)@/,
    (_, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`,
  );
}
