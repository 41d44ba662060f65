/**
 * Mode prewarm with `server-url`: the committed bundle, run by node, installs the checkout's
 * package-lock.json from a real npm registry (verdaccio on loopback) and uploads its dependency
 * snapshot to a real hub on loopback; an agent-side restore then rebuilds node_modules from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import { HubClient } from '../../src/agent/client.ts';
import { readLockfile } from '../../src/prewarm/npm-install.ts';
import { restoreNodeModules } from '../../src/prewarm/restore-or-install.ts';
import { snapshotManifestSchema } from '../../src/prewarm/snapshot-manifest.ts';
import { cleanup, describeTree, startHub, tempDir } from '../helpers/harness.ts';
import { checkoutOf, type NpmFixture, startNpmFixture } from '../prewarm/npm-project.ts';
import { type ActionRun, runAction } from './run-action.ts';

const TOKEN = 'hub-admin-credential';
let npm: NpmFixture;
let hub: { url: string };
/** The installed project the checkout was made from: its node_modules is what a restore must make. */
let project: string;
/** The repository the Action runs on: package.json, package-lock.json (and an .npmrc it must not read). */
let checkout: string;
let lockHash: string;
let npmCache: string;

beforeAll(async () => {
  npm = await startNpmFixture();
  await npm.publish('alpha', '1.0.0');
  await npm.publish('beta', '1.0.0', { dependencies: { alpha: '1.0.0' } });
  await npm.publish('gamma', '2.0.0');
  project = await npm.makeProject({ beta: '1.0.0', gamma: '2.0.0' });
  checkout = checkoutOf(project);
  lockHash = readLockfile(checkout)!.hash;
  npmCache = join(tempDir('warmsync-action-npm-cache-'), 'npm');
  hub = startHub({ token: TOKEN });
}, 120_000);

afterAll(async () => {
  await cleanup();
  await npm?.stop();
});

const run = (inputs: Record<string, string>) =>
  runAction({
    inputs: { mode: 'prewarm', 'npm-cache': npmCache, 'server-url': hub.url, workspace: 'web', ...inputs },
    workspace: checkout,
    env: { npm_config_registry: npm.registry.url, RUNNER_TEMP: tempDir('warmsync-runner-temp-') },
  });

const client = () => new HubClient({ server: hub.url, workspace: 'web', token: TOKEN, agentId: 'restorer' });

describe('mode prewarm with server-url', () => {
  let first: ActionRun;

  beforeAll(async () => {
    first = await run({ token: TOKEN });
  }, 120_000);

  it('uploads the snapshot of the lockfile and says so in its outputs', () => {
    expect({ code: first.exitCode, errors: first.stdout.match(/::error::.*/g) }).toEqual({
      code: 0,
      errors: null,
    });
    expect(first.outputs['snapshot-uploaded']).toBe('true');
    expect(first.outputs['lock-hash']).toBe(lockHash);
  });

  it('stores a manifest at the hub naming every package of the lockfile', async () => {
    const manifest = snapshotManifestSchema.parse(await client().snapshot(lockHash));
    expect(manifest.lockHash).toBe(lockHash);
    expect(manifest.packages.map((p) => p.path).sort()).toEqual([
      'node_modules/alpha',
      'node_modules/beta',
      'node_modules/gamma',
    ]);
  });

  it('writes what it uploaded in the job summary', () => {
    expect(first.summary).toMatch(
      new RegExp(
        `Dependency snapshot ${lockHash.slice(0, 12)} uploaded to ${hub.url} \\(workspace web\\): 3 package tarballs, \\d+ bytes; (\\d+) of \\1 chunks sent`,
      ),
    );
  });

  it('lets an agent restore node_modules from the snapshot, identical to what npm installs', async () => {
    const fresh = checkoutOf(project);
    const lines: string[] = [];
    const outcome = await restoreNodeModules({
      dir: fresh,
      client: client(),
      npmCache: join(tempDir('warmsync-empty-cache-'), 'npm'),
      policy: { allowScripts: false, userconfig: npm.registry.userconfig },
      log: (line) => lines.push(line),
    });
    expect({ outcome, lines }).toMatchObject({ outcome: 'restored' });
    const skip = ['.git', '.package-lock.json'];
    expect(describeTree(join(fresh, 'node_modules'), skip)).toEqual(
      describeTree(join(project, 'node_modules'), skip),
    );
  });

  it('sends no chunk the second time: the hub has them all', async () => {
    const second = await run({ token: TOKEN });
    expect(second.exitCode).toBe(0);
    expect(second.summary).toMatch(/; 0 of \d+ chunks sent \(0 bytes\)/);
  }, 120_000);

  it('fails the step with the reason when the hub refuses the token, after writing the summary', async () => {
    const refused = await run({ token: 'not-the-credential' });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stdout).toContain(
      `::error::No dependency snapshot was uploaded to ${hub.url} (workspace web): the warmsync hub refused the token (401`,
    );
    // The runner masks what follows ::add-mask::; no other line may carry the token.
    const leaks = refused.stdout.split('\n').filter((l) => l.includes('not-the-credential'));
    expect(leaks).toEqual(['::add-mask::not-the-credential']);
    expect(refused.outputs['snapshot-uploaded']).toBe('false');
    expect(refused.summary).toContain('No dependency snapshot was uploaded');
  }, 120_000);

  it('fails the step when the hub cannot be reached', async () => {
    const unreachable = await run({ token: TOKEN, 'server-url': 'http://127.0.0.1:9' });
    expect(unreachable.exitCode).not.toBe(0);
    expect(unreachable.stdout).toContain(
      '::error::No dependency snapshot was uploaded to http://127.0.0.1:9',
    );
    expect(unreachable.stdout).toContain('cannot reach the warmsync hub at http://127.0.0.1:9');
  }, 120_000);

  it('asks for a workspace with server-url, before doing anything', async () => {
    const result = await run({ token: TOKEN, workspace: '' });
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toContain("::error::input 'workspace' is required with 'server-url'");
    expect(result.outputs).toEqual({});
  });
});
