/**
 * Throwaway backing services for the scale-out tests: a real redis-server, a real PostgreSQL
 * cluster made with initdb in a temp folder, and a local S3-compatible server (s3rver under node),
 * each on a free loopback port. `stop()` (or `stopAllServices()`) ends them and removes their
 * folders; nothing is left running after a test file.
 */
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import pg from 'pg';
import { freePort } from './processes.ts';

const stops: Array<() => Promise<void>> = [];

export interface RedisService {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: nothing is saved anyway) and starts a new, empty one on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface PostgresService {
  url: string;
  port: number;
  /**
   * Creates an empty database on this server and returns its URL. A store opened on it meets no
   * other test's workspaces, rows or migrations, without the cost of a cluster per test; it goes
   * with the cluster at `stop()`.
   */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export interface S3Service {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** Starts `redis-server` with no persistence on 127.0.0.1 and a free port. */
export async function startRedis(): Promise<RedisService> {
  const port = await freePort();
  const spawn = () =>
    Bun.spawn(
      ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdout: 'ignore', stderr: 'ignore' },
    );
  let child = spawn();
  await waitForPort(port, 'redis-server');
  const service: RedisService = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart() {
      child.kill('SIGKILL');
      await child.exited;
      child = spawn();
      await waitForPort(port, 'redis-server');
    },
    async stop() {
      child.kill('SIGKILL');
      await child.exited;
    },
  };
  stops.push(() => service.stop());
  return service;
}

export interface RedisClusterService {
  /** The `--redis` URL: redis+cluster:// with every node. */
  url: string;
  ports: number[];
  /** SIGKILLs one node: its slots go unserved until the test ends (no replicas to fail over to). */
  killNode(index: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `size` masters on loopback (each node on a free port whose cluster
 * bus port, 10000 above, is free too), with `cluster-require-full-coverage no` so that the nodes
 * left serve their slots when one dies, and waits until the cluster reports ok.
 */
export async function startRedisCluster(size = 3): Promise<RedisClusterService> {
  const root = mkdtempSync(join(tmpdir(), 'warmsync-redis-cluster-'));
  const ports: number[] = [];
  while (ports.length < size) {
    const port = await freePort();
    if (port > 55_000 || ports.includes(port) || !(await portFree(port + 10_000))) continue;
    ports.push(port);
  }
  const children = ports.map((port) =>
    Bun.spawn(
      [
        'redis-server',
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        root,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '1000',
        '--cluster-require-full-coverage',
        'no',
      ],
      { stdout: 'ignore', stderr: 'ignore' },
    ),
  );
  const alive = new Set(children.map((_, i) => i));
  const service: RedisClusterService = {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    async killNode(index) {
      children[index]!.kill('SIGKILL');
      await children[index]!.exited;
      alive.delete(index);
    },
    async stop() {
      for (const i of alive) {
        children[i]!.kill('SIGKILL');
        await children[i]!.exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  stops.push(() => service.stop());
  for (const port of ports) await waitForPort(port, 'redis-server (cluster node)');
  const create = Bun.spawnSync(
    [
      'redis-cli',
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  if (create.exitCode !== 0) throw new Error(`redis-cli --cluster create: ${create.stdout}${create.stderr}`);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const states = ports.map((port) =>
      Bun.spawnSync(['redis-cli', '-p', String(port), 'cluster', 'info'], {
        stdout: 'pipe',
      }).stdout.toString(),
    );
    if (states.every((info) => info.includes('cluster_state:ok'))) break;
    if (Date.now() > deadline) throw new Error(`the redis cluster did not become ok: ${states.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return service;
}

export interface RedisSentinelService {
  /** The `--redis` URL: redis+sentinel://SENTINEL/MASTER. */
  url: string;
  master: RedisService;
  stop(): Promise<void>;
}

/** Starts a Redis master and one Sentinel that monitors it as `warmsync-master`. */
export async function startRedisSentinel(): Promise<RedisSentinelService> {
  const master = await startRedis();
  const root = mkdtempSync(join(tmpdir(), 'warmsync-sentinel-'));
  const port = await freePort();
  const config = join(root, 'sentinel.conf');
  await Bun.write(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${root}`,
      `sentinel monitor warmsync-master 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds warmsync-master 1000',
      '',
    ].join('\n'),
  );
  const child = Bun.spawn(['redis-server', config, '--sentinel'], { stdout: 'ignore', stderr: 'ignore' });
  const service: RedisSentinelService = {
    url: `redis+sentinel://127.0.0.1:${port}/warmsync-master`,
    master,
    async stop() {
      child.kill('SIGKILL');
      await child.exited;
      rmSync(root, { recursive: true, force: true });
    },
  };
  stops.push(() => service.stop());
  await waitForPort(port, 'redis-server --sentinel');
  return service;
}

async function portFree(port: number): Promise<boolean> {
  if (port > 65_535) return false;
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Creates a PostgreSQL cluster in a temp folder and starts it on 127.0.0.1 and a free port, its
 * unix socket in the same folder. PostgreSQL refuses to run as root, so as root the cluster
 * belongs to the `postgres` user and the binaries run under `setpriv` (which execs, so the pid we
 * hold is the postmaster's own and a signal reaches it).
 */
export async function startPostgres(): Promise<PostgresService> {
  const bin = postgresBinDir();
  const root = mkdtempSync(join(tmpdir(), 'warmsync-pg-'));
  const data = join(root, 'data');
  const asUser = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (asUser) chownSync(root, asUser.uid, asUser.gid);
  const prefix = asUser
    ? ['setpriv', `--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', '--']
    : [];
  const init = Bun.spawnSync(
    [...prefix, join(bin, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'],
    { stdout: 'pipe', stderr: 'pipe', cwd: root },
  );
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  const port = await freePort();
  const child: Subprocess = Bun.spawn(
    [
      ...prefix,
      join(bin, 'postgres'),
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      root,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    { stdout: 'ignore', stderr: 'ignore', cwd: root },
  );
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitForPort(port, 'postgres');
  await waitForQuery(url);
  let databases = 0;
  const service: PostgresService = {
    url,
    port,
    freshDatabase: () => createDatabase(url, `test_${++databases}`),
    async stop() {
      // SIGINT is PostgreSQL's fast shutdown: it ends every backend and exits.
      child.kill('SIGINT');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await child.exited;
      clearTimeout(timeout);
      rmSync(root, { recursive: true, force: true });
    },
  };
  stops.push(() => service.stop());
  return service;
}

/** Creates the database `name` on the server at `serverUrl` and returns the URL that names it. */
async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Starts s3rver under node (its own process) with one bucket, on 127.0.0.1 and a free port. */
export async function startS3(bucket = 'warmsync-test'): Promise<S3Service> {
  const root = mkdtempSync(join(tmpdir(), 'warmsync-s3-'));
  const port = await freePort();
  const cli = join(import.meta.dir, '..', '..', 'node_modules', 's3rver', 'bin', 's3rver.js');
  const child = Bun.spawn(
    [
      'node',
      cli,
      '-d',
      root,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '--silent',
      '--configure-bucket',
      bucket,
    ],
    { stdout: 'ignore', stderr: 'ignore' },
  );
  await waitForPort(port, 's3rver');
  const service: S3Service = {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    // s3rver's fixed development credentials.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async stop() {
      child.kill('SIGKILL');
      await child.exited;
      rmSync(root, { recursive: true, force: true });
    },
  };
  stops.push(() => service.stop());
  return service;
}

export async function stopAllServices(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
}

function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${base}`);
  return join(base, versions[0]!, 'bin');
}

function postgresUser(): { uid: number; gid: number } {
  const line = Bun.spawnSync(['id', '-u', 'postgres']);
  const group = Bun.spawnSync(['id', '-g', 'postgres']);
  if (line.exitCode !== 0) throw new Error('running as root needs a postgres user to own the test cluster');
  return { uid: Number(line.stdout.toString().trim()), gid: Number(group.stdout.toString().trim()) };
}

async function waitForPort(port: number, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not start listening on port ${port}`);
}

/** The port opens before recovery ends ("the database system is starting up"): wait for a query. */
async function waitForQuery(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
