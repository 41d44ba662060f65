/**
 * A snapshot is restored only when it is exactly what the lockfile describes: any token holder
 * can replace the snapshot of a lockfile on the hub, so a tampered, padded or trimmed one must be
 * refused, with nothing of it written. Real parts only: verdaccio, npm, a hub, the agent.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import cacache from 'cacache';
import { HubClient } from '../../src/agent/client.ts';
import { chunkBytes } from '../../src/core/chunk.ts';
import { makeFrame } from '../../src/core/frames.ts';
import { readLockfile } from '../../src/prewarm/npm-install.ts';
import {
  type SnapshotManifest,
  type SnapshotPackage,
  snapshotManifestSchema,
} from '../../src/prewarm/snapshot-manifest.ts';
import { RestoreError, restoreSnapshot } from '../../src/prewarm/snapshot-restore.ts';
import { uploadSnapshot } from '../../src/prewarm/snapshot-upload.ts';
import { cleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';
import { checkoutOf, type NpmFixture, startNpmFixture } from './npm-project.ts';

let npm: NpmFixture;
let project: string;
let lockHash: string;

beforeAll(async () => {
  npm = await startNpmFixture();
  await npm.publish('alpha', '1.0.0');
  await npm.publish('gamma', '1.0.0');
  await npm.publish('delta', '1.0.0');
  project = await npm.makeProject({ alpha: '1.0.0', gamma: '1.0.0' });
  lockHash = readLockfile(project)!.hash;
}, 120_000);

afterAll(async () => {
  await cleanup();
  await npm.stop();
});

afterEach(async () => {
  await stopAllCli();
});

/** A hub holding the honest snapshot of `project`, and a client of its workspace `web`. */
async function hubWithSnapshot() {
  const hub = startHub();
  const client = new HubClient({ server: hub.url, workspace: 'web', agentId: 'snapshot' });
  await uploadSnapshot(client, {
    installRoot: project,
    lockfile: readLockfile(project)!.bytes.toString('utf8'),
    lockHash,
    npmCache: npm.npmCache,
  });
  const manifest = snapshotManifestSchema.parse(await client.snapshot(lockHash));
  return { hub, client, manifest };
}

/** Uploads `bytes` as chunks and returns them as a snapshot package at `path` claiming `integrity`. */
async function uploadedPackage(
  client: HubClient,
  path: string,
  integrity: string,
  bytes: Uint8Array,
): Promise<SnapshotPackage> {
  const chunks = chunkBytes(bytes);
  const frames = chunks.map((c) => makeFrame(c.hash, bytes.subarray(c.offset, c.offset + c.size)));
  await client.push({ agent: '00000000', batch: 'edits', changes: [] }, frames);
  return { path, integrity, size: bytes.length, chunks: chunks.map((c) => [c.hash, c.size]) };
}

/** gamma's genuine tarball with `gamma@1.0.0` in lib/index.js changed to `gamma@6.6.6`. */
async function tamperedGamma(genuine: SnapshotPackage): Promise<Uint8Array> {
  const tarball = await cacache.get.byDigest(join(npm.npmCache, '_cacache'), genuine.integrity);
  const tar = Buffer.from(gunzipSync(tarball));
  const at = tar.indexOf('"gamma@1.0.0"');
  expect(at).toBeGreaterThan(0);
  tar.write('"gamma@6.6.6"', at);
  return gzipSync(tar);
}

/** A client that counts the chunk fetches a restore makes. */
function counting(client: HubClient) {
  let fetches = 0;
  return {
    client: {
      snapshot: (hash: string) => client.snapshot(hash),
      fetchChunks: (want: Array<{ hash: string }>) => {
        fetches++;
        return client.fetchChunks(want);
      },
    },
    fetches: () => fetches,
  };
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('.warmsync-tmp-'));
}

async function expectRefused(
  manifest: SnapshotManifest,
  client: HubClient,
  pattern: RegExp,
  fetches?: number,
) {
  await client.putSnapshot(lockHash, manifest);
  const checkout = checkoutOf(project);
  const probe = counting(client);
  const error = await restoreSnapshot(probe.client, checkout).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RestoreError);
  expect((error as RestoreError).code).toBe('refused');
  expect((error as RestoreError).message).toMatch(pattern);
  expect(existsSync(join(checkout, 'node_modules'))).toBe(false);
  expect(leftovers(checkout)).toEqual([]);
  if (fetches !== undefined) expect(probe.fetches()).toBe(fetches);
}

describe('a snapshot that does not match the lockfile', () => {
  it('is refused when one tarball has other bytes than the lockfile integrity, and nothing is kept', async () => {
    const { client, manifest } = await hubWithSnapshot();
    const gamma = manifest.packages.find((p) => p.path === 'node_modules/gamma')!;
    const forged = await uploadedPackage(client, gamma.path, gamma.integrity, await tamperedGamma(gamma));
    const packages = manifest.packages.map((p) => (p === gamma ? forged : p));
    await expectRefused(
      { ...manifest, packages },
      client,
      /node_modules\/gamma .*does not match the lockfile's integrity/,
    );
  });

  it('is refused before anything is fetched when it holds a package the lockfile lacks', async () => {
    const { client, manifest } = await hubWithSnapshot();
    const other = await npm.makeProject({ delta: '1.0.0' });
    const delta = readLockfile(other)!;
    const integrity = JSON.parse(delta.bytes.toString('utf8')).packages['node_modules/delta']
      .integrity as string;
    const tarball = await cacache.get.byDigest(join(npm.npmCache, '_cacache'), integrity);
    const extra = await uploadedPackage(client, 'node_modules/delta', integrity, tarball);
    await expectRefused(
      { ...manifest, packages: [...manifest.packages, extra] },
      client,
      /node_modules\/delta is not in the lockfile/,
      0,
    );
  }, 60_000);

  it('is refused before anything is fetched when it lacks a package the lockfile has', async () => {
    const { client, manifest } = await hubWithSnapshot();
    const packages = manifest.packages.filter((p) => p.path !== 'node_modules/alpha');
    await expectRefused(
      { ...manifest, packages },
      client,
      /node_modules\/alpha is in the lockfile but not in the snapshot/,
      0,
    );
  });

  it('is refused before anything is fetched when a package claims another integrity', async () => {
    const { client, manifest } = await hubWithSnapshot();
    const alpha = manifest.packages.find((p) => p.path === 'node_modules/alpha')!;
    const packages = manifest.packages.map((p) =>
      p.path === 'node_modules/gamma' ? { ...alpha, path: 'node_modules/gamma' } : p,
    );
    await expectRefused({ ...manifest, packages }, client, /node_modules\/gamma names another integrity/, 0);
  });

  it('makes the agent log the refusal, count it, report it, and install the lockfile with npm ci instead', async () => {
    const { hub, client, manifest } = await hubWithSnapshot();
    const gamma = manifest.packages.find((p) => p.path === 'node_modules/gamma')!;
    const forgedBytes = await tamperedGamma(gamma);
    const forged = await uploadedPackage(client, gamma.path, gamma.integrity, forgedBytes);
    await client.putSnapshot(lockHash, {
      ...manifest,
      packages: manifest.packages.map((p) => (p === gamma ? forged : p)),
    });
    const checkout = checkoutOf(project);
    const agentCache = join(tempDir('warmsync-agent-cache-'), 'npm');
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
      agentCache,
      '--npmrc',
      npm.registry.userconfig,
      '--metrics-port',
      '0',
    ]);
    await waitUntil(
      () => agent.output().includes('installed node_modules with npm ci'),
      `the fallback install (${agent.output()})`,
      90_000,
    );
    expect(agent.output()).toMatch(/snapshot refused, nothing of it kept: .*node_modules\/gamma/);
    // What landed is the registry's gamma, not the snapshot's.
    const index = readFileSync(join(checkout, 'node_modules', 'gamma', 'lib', 'index.js'), 'utf8');
    expect(index).toContain('gamma@1.0.0');
    const forgedSri = `sha512-${new Bun.CryptoHasher('sha512').update(forgedBytes).digest('base64')}`;
    expect(await cacache.get.hasContent(join(agentCache, '_cacache'), forgedSri)).toBe(false);
    const metricsUrl = /metrics on (http:\/\/\S+)\/metrics/.exec(agent.output())?.[1];
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(metrics).toContain('warmsync_snapshot_restores_total{result="refused"} 1');
    // The next sync cycle reports the refusal with the agent's problems.
    await Bun.write(join(checkout, 'touch.txt'), 'x');
    await waitUntil(
      () => /problem: node_modules: .*\(snapshot-refused\)/.test(agent.output()),
      `the problem report (${agent.output()})`,
      30_000,
    );
  }, 120_000);
});
