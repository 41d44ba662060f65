/**
 * Dependency snapshots end to end, with real parts only: verdaccio on loopback, the real npm, a
 * real hub, the real `warmsync prewarm` and `warmsync agent` command lines.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import cacache from 'cacache';
import { HubClient } from '../../src/agent/client.ts';
import { PrewarmRunner } from '../../src/agent/prewarm-runner.ts';
import { createAgentMetrics } from '../../src/metrics/agent-metrics.ts';
import { lockfileHash, npmCi, readLockfile, stageInstallInputs } from '../../src/prewarm/npm-install.ts';
import type { NpmPolicy } from '../../src/prewarm/npm-policy.ts';
import { restoreNodeModules } from '../../src/prewarm/restore-or-install.ts';
import { snapshotChunks, snapshotManifestSchema } from '../../src/prewarm/snapshot-manifest.ts';
import { RestoreError, restoreSnapshot } from '../../src/prewarm/snapshot-restore.ts';
import { uploadSnapshot } from '../../src/prewarm/snapshot-upload.ts';
import { storedChunkFile } from '../helpers/chunk-files.ts';
import { cleanup, describeTree, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';
import { checkoutOf, type NpmFixture, startNpmFixture } from './npm-project.ts';

let npm: NpmFixture;
/** A project installed once with npm: package.json, package-lock.json, .npmrc and node_modules. */
let project: string;
let policy: NpmPolicy;

function clientFor(hub: { url: string }, workspace: string): HubClient {
  return new HubClient({ server: hub.url, workspace, agentId: 'snapshot' });
}

/** Uploads the snapshot of `dir`'s install, as `prewarm --server` does after its npm ci. */
function upload(client: HubClient, dir: string, platform?: string) {
  const lockfile = readLockfile(dir)!;
  return uploadSnapshot(client, {
    installRoot: dir,
    lockfile: lockfile.bytes.toString('utf8'),
    lockHash: lockfile.hash,
    npmCache: npm.npmCache,
    platform,
  });
}

/** The tree npm made, less the hidden lockfile npm writes for itself (a restore makes none). */
function installedTree(dir: string): Map<string, string> {
  return describeTree(join(dir, 'node_modules'), ['.git', '.package-lock.json']);
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
  npm = await startNpmFixture();
  policy = { allowScripts: false, userconfig: npm.registry.userconfig };
  await npm.publish('alpha', '1.0.0');
  await npm.publish('alpha', '2.0.0');
  await npm.publish('beta', '1.0.0', { dependencies: { alpha: '2.0.0' } });
  await npm.publish('gamma', '1.0.0');
  await npm.publish('delta', '1.0.0');
  project = await npm.makeProject({ alpha: '1.0.0', beta: '1.0.0', gamma: '1.0.0' });
}, 120_000);

afterAll(async () => {
  await cleanup();
  await npm.stop();
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
      npm.npmCache,
      '--npmrc',
      npm.registry.userconfig,
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
      join(npm.home, 'agent-npm-cache'),
    ]);
    await waitUntil(
      () => agent.output().includes('restored node_modules'),
      `a restore (${agent.output()})`,
      60_000,
    );
    expect(installedTree(checkout)).toEqual(installedTree(project));
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
    const first = await upload(client, project);
    expect(first.chunksUploaded).toBe(first.chunks);
    const next = await npm.makeProject({ alpha: '1.0.0', beta: '1.0.0', gamma: '1.0.0', delta: '1.0.0' });
    const second = await upload(client, next);
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
      npmCache: npm.npmCache,
      policy,
      log: (line) => lines.push(line),
      metrics,
    });
    expect(outcome).toBe('installed');
    expect(lines.join('\n')).toContain('running npm ci instead');
    expect(installedTree(checkout)).toEqual(installedTree(project));
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
      npmCache: npm.npmCache,
      policy,
      log: (line) => lines.push(line),
      npm: join(npm.home, 'no-such-npm'),
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
    await upload(client, project);
    const chunks = snapshotChunks(snapshotManifestSchema.parse(await client.snapshot(lockHash)));
    const victim = chunks[Math.floor(chunks.length / 2)]!;
    const file = storedChunkFile(join(data, 'chunks'), victim);
    const bytes = readFileSync(file);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const checkout = checkoutOf(project);
    const error = await restoreSnapshot(client, checkout).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreError);
    // The hub verifies chunks on read: it drops the damaged one and answers that it lacks it.
    expect((error as RestoreError).code).toBe('missing-chunk');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(join(checkout, 'node_modules'))).toBe(false);
    expect(leftovers(checkout)).toEqual([]);
  });

  it('made on another platform are not restored', async () => {
    const hub = startHub();
    const client = clientFor(hub, 'web');
    await upload(client, project, 'linux-x64-musl');
    const checkout = checkoutOf(project);
    const error = await restoreSnapshot(client, checkout, { platform: 'linux-x64-glibc' }).catch(
      (e: unknown) => e,
    );
    expect((error as RestoreError).code).toBe('other-platform');
    expect(existsSync(join(checkout, 'node_modules'))).toBe(false);
  });

  it('are not restored by an agent started with --no-prewarm', async () => {
    const hub = startHub();
    await upload(clientFor(hub, 'web'), project);
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

describe('background pre-warming', () => {
  it('warms an npm package a pushed source newly imports into the shared cache, once', async () => {
    const dir = tempDir('warmsync-warm-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', dependencies: {} }));
    writeFileSync(join(dir, 'main.ts'), "import delta from 'delta';\nimport type { T } from 'gamma';\n");
    const metrics = createAgentMetrics({ problems: () => 0, pendingRemote: () => 0 });
    const sharedCache = join(npm.home, 'shared-cache');
    const runner = new PrewarmRunner({
      dir,
      client: clientFor({ url: 'http://127.0.0.1:9' }, 'web'),
      npmCache: sharedCache,
      policy,
      restore: false,
      debounceMs: 50,
      workRoot: join(npm.home, 'warm-runs'),
      registry: npm.registry.url,
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
    await npmCi(staging, { cache: npm.npmCache, policy });
    expect(existsSync(join(staging, 'node_modules', '.bin', 'alpha'))).toBe(true);
    rmSync(staging, { recursive: true, force: true });
  }, 60_000);
});
