/**
 * Dependency snapshots end to end, with real parts only: verdaccio on loopback, the real npm, a
 * real hub, the real `warmsync prewarm` and `warmsync agent` command lines.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import cacache from 'cacache';
import { HubClient } from '../../src/agent/client.ts';
import { PrewarmRunner } from '../../src/agent/prewarm-runner.ts';
import { createAgentMetrics } from '../../src/metrics/agent-metrics.ts';
import { lockfileHash, npmCi, stageInstallInputs } from '../../src/prewarm/npm-install.ts';
import type { NpmPolicy } from '../../src/prewarm/npm-policy.ts';
import { restoreNodeModules } from '../../src/prewarm/restore-or-install.ts';
import { snapshotChunks, snapshotManifestSchema } from '../../src/prewarm/snapshot-manifest.ts';
import { RestoreError, restoreSnapshot } from '../../src/prewarm/snapshot-restore.ts';
import { uploadSnapshot } from '../../src/prewarm/snapshot-upload.ts';
import { cleanup, describeTree, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';
import { startRegistry, type TestRegistry } from './npm-registry.ts';

const run = promisify(execFile);
let registry: TestRegistry;
/** A project installed once with npm: package.json, package-lock.json, .npmrc and node_modules. */
let project: string;
let home: string;
/** Scripts off, and the registry from a user config outside every checkout. */
let policy: NpmPolicy;

/** Publishes a package with an executable `bin` and optional dependencies. */
async function publish(name: string, version: string, dependencies: Record<string, string> = {}) {
  const folder = join(home, 'packages', `${name}-${version}`);
  mkdirSync(join(folder, 'lib'), { recursive: true });
  writeFileSync(
    join(folder, 'package.json'),
    JSON.stringify({ name, version, main: 'lib/index.js', bin: { [name]: 'cli.js' }, dependencies }),
  );
  writeFileSync(
    join(folder, 'lib', 'index.js'),
    `module.exports = ${JSON.stringify(`${name}@${version}`)};\n`,
  );
  // Incompressible bytes larger than a chunk, so the package spans several chunks.
  const big = Buffer.alloc(300 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761 + version.length * 7919) >>> 24;
  writeFileSync(join(folder, 'lib', 'data.bin'), big);
  writeFileSync(join(folder, 'cli.js'), `#!/usr/bin/env node\nconsole.log(require('./lib'));\n`, {
    mode: 0o755,
  });
  await run(
    'npm',
    ['publish', '--registry', registry.url, '--userconfig', registry.userconfig, '--loglevel=error'],
    {
      cwd: folder,
    },
  );
}

/** A project folder depending on `deps`, installed with npm to get its lockfile. */
async function makeProject(deps: Record<string, string>): Promise<string> {
  const dir = join(home, `project-${Object.keys(deps).join('-')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }),
  );
  writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}\n`);
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', '--cache', join(home, 'npm-cache')],
    {
      cwd: dir,
    },
  );
  return dir;
}

/** A copy of `source` without node_modules, as a fresh checkout would be. */
function checkoutOf(source: string): string {
  const dir = tempDir('warmsync-checkout-');
  for (const name of ['package.json', 'package-lock.json', '.npmrc'])
    cpSync(join(source, name), join(dir, name));
  return dir;
}

function clientFor(hub: { url: string }, workspace: string): HubClient {
  return new HubClient({ server: hub.url, workspace, agentId: 'snapshot' });
}

/** `warmsync prewarm DIR --server ...` as a child process; resolves with its output. */
async function prewarmCli(args: string[]): Promise<string> {
  const cli = startCli(['prewarm', ...args]);
  const code = await cli.process.exited;
  if (code !== 0) throw new Error(`prewarm exited ${code}: ${cli.output()}`);
  return cli.output();
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('.warmsync-tmp-'));
}

beforeAll(async () => {
  registry = await startRegistry();
  policy = { allowScripts: false, userconfig: registry.userconfig };
  home = tempDir('warmsync-snapshots-');
  await publish('alpha', '1.0.0');
  await publish('alpha', '2.0.0');
  await publish('beta', '1.0.0', { alpha: '2.0.0' });
  await publish('gamma', '1.0.0');
  await publish('delta', '1.0.0');
  project = await makeProject({ alpha: '1.0.0', beta: '1.0.0', gamma: '1.0.0' });
}, 120_000);

afterAll(async () => {
  await cleanup();
  await registry.stop();
});

afterEach(async () => {
  await stopAllCli();
});

describe('dependency snapshots', () => {
  it('are uploaded by prewarm --server and restored by an agent starting without node_modules', async () => {
    const hub = startHub();
    const output = await prewarmCli([
      project,
      '--server',
      hub.url,
      '--workspace',
      'web',
      '--npm-cache',
      join(home, 'npm-cache'),
      '--npmrc',
      registry.userconfig,
    ]);
    expect(output).toContain('snapshot');
    const checkout = checkoutOf(project);
    const agent = startCli([
      'agent',
      checkout,
      '--server',
      hub.url,
      '--workspace',
      'web',
      '--state',
      tempDir('warmsync-state-'),
      '--npm-cache',
      join(home, 'agent-npm-cache'),
    ]);
    await waitUntil(
      () => agent.output().includes('restored node_modules'),
      `a restore (${agent.output()})`,
      60_000,
    );
    expect(describeTree(join(checkout, 'node_modules'))).toEqual(describeTree(join(project, 'node_modules')));
    const bin = join(checkout, 'node_modules', '.bin', 'gamma');
    expect(lstatSync(bin).isSymbolicLink()).toBe(true);
    expect(readlinkSync(bin)).toBe('../gamma/cli.js');
    expect(lstatSync(join(checkout, 'node_modules', 'gamma', 'cli.js')).mode & 0o111).toBe(0o111);
    expect(
      readFileSync(
        join(checkout, 'node_modules', 'beta', 'node_modules', 'alpha', 'lib', 'index.js'),
        'utf8',
      ),
    ).toContain('alpha@2.0.0');
    expect(leftovers(checkout)).toEqual([]);
  }, 120_000);

  it('of a lockfile differing by one package upload only the chunks the first lacks', async () => {
    const hub = startHub();
    const client = clientFor(hub, 'web');
    const first = await uploadSnapshot(client, join(project, 'node_modules'), lockfileHash(project)!);
    expect(first.chunksUploaded).toBe(first.chunks);
    const next = await makeProject({ alpha: '1.0.0', beta: '1.0.0', gamma: '1.0.0', delta: '1.0.0' });
    const second = await uploadSnapshot(client, join(next, 'node_modules'), lockfileHash(next)!);
    const before = new Set(
      snapshotChunks(snapshotManifestSchema.parse(await client.snapshot(lockfileHash(project)!))),
    );
    const after = snapshotChunks(snapshotManifestSchema.parse(await client.snapshot(lockfileHash(next)!)));
    const fresh = after.filter((hash) => !before.has(hash));
    expect(second.chunksUploaded).toBe(fresh.length);
    expect(second.chunksUploaded).toBeGreaterThan(0);
    expect(second.chunksUploaded).toBeLessThan(second.chunks / 2);
  }, 120_000);

  it('fall back to npm ci when the hub has no snapshot for the lockfile', async () => {
    const hub = startHub();
    const checkout = checkoutOf(project);
    const metrics = createAgentMetrics({ problems: () => 0, pendingRemote: () => 0 });
    const lines: string[] = [];
    const outcome = await restoreNodeModules({
      dir: checkout,
      client: clientFor(hub, 'web'),
      npmCache: join(home, 'npm-cache'),
      policy,
      log: (line) => lines.push(line),
      metrics,
    });
    expect(outcome).toBe('installed');
    expect(lines.join('\n')).toContain('running npm ci instead');
    expect(describeTree(join(checkout, 'node_modules'))).toEqual(describeTree(join(project, 'node_modules')));
    expect(await metrics.registry.metrics()).toContain(
      'warmsync_snapshot_restores_total{result="no-snapshot"} 1',
    );
    expect(leftovers(checkout)).toEqual([]);
  }, 120_000);

  it('log and go on without node_modules when there is no snapshot and no npm', async () => {
    const hub = startHub();
    const checkout = checkoutOf(project);
    const lines: string[] = [];
    const outcome = await restoreNodeModules({
      dir: checkout,
      client: clientFor(hub, 'web'),
      npmCache: join(home, 'npm-cache'),
      policy,
      log: (line) => lines.push(line),
      npm: join(home, 'no-such-npm'),
    });
    expect(outcome).toBe('failed');
    expect(lines.join('\n')).toContain('npm is not installed');
    expect(existsSync(join(checkout, 'node_modules'))).toBe(false);
    expect(leftovers(checkout)).toEqual([]);
  });

  it('detect a damaged chunk on the hub and leave no node_modules, whole or half', async () => {
    const data = join(tempDir('warmsync-hub-'), 'data');
    const hub = startHub({ dataDir: data });
    const client = clientFor(hub, 'web');
    const lockHash = lockfileHash(project)!;
    await uploadSnapshot(client, join(project, 'node_modules'), lockHash);
    const chunks = snapshotChunks(snapshotManifestSchema.parse(await client.snapshot(lockHash)));
    const victim = chunks[Math.floor(chunks.length / 2)]!;
    const file = join(data, 'chunks', victim.slice(0, 2), victim);
    const bytes = readFileSync(file);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const checkout = checkoutOf(project);
    const error = await restoreSnapshot(client, checkout, lockHash).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreError);
    // The hub verifies chunks on read: it drops the damaged one and answers that it lacks it.
    expect((error as RestoreError).code).toBe('missing-chunk');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(join(checkout, 'node_modules'))).toBe(false);
    expect(leftovers(checkout)).toEqual([]);
  });

  it('made on another platform or Node ABI are not restored', async () => {
    const hub = startHub();
    const client = clientFor(hub, 'web');
    const lockHash = lockfileHash(project)!;
    await uploadSnapshot(client, join(project, 'node_modules'), lockHash, {
      platform: 'linux-x64',
      nodeAbi: '1',
    });
    const checkout = checkoutOf(project);
    const error = await restoreSnapshot(client, checkout, lockHash, {
      platform: 'linux-x64',
      nodeAbi: '2',
    }).catch((e: unknown) => e);
    expect((error as RestoreError).code).toBe('other-platform');
    expect(existsSync(join(checkout, 'node_modules'))).toBe(false);
  });

  it('are not restored by an agent started with --no-prewarm', async () => {
    const hub = startHub();
    await uploadSnapshot(clientFor(hub, 'web'), join(project, 'node_modules'), lockfileHash(project)!);
    const checkout = checkoutOf(project);
    const agent = startCli([
      'agent',
      checkout,
      '--server',
      hub.url,
      '--workspace',
      'web',
      '--state',
      tempDir(),
      '--no-prewarm',
    ]);
    await waitUntil(
      () => agent.output().includes('watching'),
      `the agent to start (${agent.output()})`,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(join(checkout, 'node_modules'))).toBe(false);
    expect(agent.output()).not.toContain('restored');
  }, 60_000);
});

describe('snapshot endpoints', () => {
  const lockHash = 'a'.repeat(64);
  const manifest = {
    format: 1,
    lockHash,
    platform: 'linux-x64',
    nodeAbi: '127',
    entries: [{ path: 'x', kind: 'dir', mode: 0o755 }],
  };
  const put = (url: string, body: string, token?: string) =>
    fetch(`${url}/v1/workspaces/web/snapshots/${lockHash}`, {
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  it('store a valid manifest and return it', async () => {
    const hub = startHub();
    expect((await put(hub.url, JSON.stringify(manifest))).status).toBe(200);
    const reply = await fetch(`${hub.url}/v1/workspaces/web/snapshots/${lockHash}`);
    expect(await reply.json()).toEqual(manifest);
  });

  it('answer 404 for a lockfile without a snapshot', async () => {
    const hub = startHub();
    expect((await fetch(`${hub.url}/v1/workspaces/web/snapshots/${'b'.repeat(64)}`)).status).toBe(404);
  });

  it('answer 401 without the token', async () => {
    const hub = startHub({ token: 'secret' });
    expect((await put(hub.url, JSON.stringify(manifest))).status).toBe(401);
    expect((await put(hub.url, JSON.stringify(manifest), 'secret')).status).toBe(200);
  });

  it('answer 400 for a manifest naming chunks the hub lacks', async () => {
    const hub = startHub();
    const entries = [{ path: 'f', kind: 'file', mode: 0o644, size: 3, chunks: [['c'.repeat(64), 3]] }];
    const reply = await put(hub.url, JSON.stringify({ ...manifest, entries }));
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { code: string }).code).toBe('missing-chunks');
  });

  it.each([
    ['a path escaping the tree', [{ path: '../x', kind: 'dir', mode: 0o755 }]],
    ['a child before its folder', [{ path: 'a/b', kind: 'symlink', target: 'c' }]],
    ['a set-user-ID file', [{ path: 's', kind: 'file', mode: 0o4755, size: 0, chunks: [] }]],
    [
      'a path listed twice',
      [
        { path: 'x', kind: 'dir', mode: 0o755 },
        { path: 'x', kind: 'symlink', target: 'y' },
      ],
    ],
    [
      'a file under a link',
      [
        { path: 'l', kind: 'symlink', target: '/etc' },
        { path: 'l/passwd', kind: 'dir', mode: 0o755 },
      ],
    ],
  ])('answer 400 for a manifest with %s', async (_what, entries) => {
    const hub = startHub();
    expect((await put(hub.url, JSON.stringify({ ...manifest, entries }))).status).toBe(400);
  });

  it('answer 413 for a manifest over the body limit', async () => {
    const hub = startHub({ maxBodyBytes: 1024 });
    const entries = Array.from({ length: 100 }, (_, i) => ({ path: `p${i}`, kind: 'dir', mode: 0o755 }));
    expect((await put(hub.url, JSON.stringify({ ...manifest, entries }))).status).toBe(413);
  });
});

describe('background pre-warming', () => {
  it('warms an npm package a pushed source newly imports into the shared cache, once', async () => {
    const dir = tempDir('warmsync-warm-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', dependencies: {} }));
    writeFileSync(join(dir, 'main.ts'), "import delta from 'delta';\nimport type { T } from 'gamma';\n");
    const metrics = createAgentMetrics({ problems: () => 0, pendingRemote: () => 0 });
    const sharedCache = join(home, 'shared-cache');
    const runner = new PrewarmRunner({
      dir,
      client: clientFor({ url: 'http://127.0.0.1:9' }, 'web'),
      npmCache: sharedCache,
      policy,
      restore: false,
      debounceMs: 50,
      workRoot: join(home, 'warm-runs'),
      registry: registry.url,
      log: () => {},
      metrics,
    });
    runner.noteChanged(['main.ts', 'README.md']);
    runner.noteChanged(['main.ts']);
    await runner.idle();
    const keys = Object.keys(await cacache.ls(join(sharedCache, '_cacache')));
    expect(keys.some((key) => key.includes('delta'))).toBe(true);
    expect(keys.some((key) => key.includes('gamma'))).toBe(false);
    runner.noteChanged(['main.ts']);
    await runner.idle();
    const text = await metrics.registry.metrics();
    expect(text).toContain('workspace_prewarm_attempts_total{ecosystem="npm"} 1');
    expect(text).toContain('workspace_prewarm_hits_total{ecosystem="npm"} 1');
    await runner.stop();
  }, 60_000);

  it('builds snapshots from a staged copy holding only package.json and package-lock.json', async () => {
    const staging = join(tempDir('warmsync-stage-'), 'build');
    stageInstallInputs(project, staging);
    expect(readdirSync(staging).sort()).toEqual(['package-lock.json', 'package.json']);
    await npmCi(staging, { cache: join(home, 'npm-cache'), policy });
    expect(existsSync(join(staging, 'node_modules', '.bin', 'alpha'))).toBe(true);
    rmSync(staging, { recursive: true, force: true });
  }, 60_000);
});
