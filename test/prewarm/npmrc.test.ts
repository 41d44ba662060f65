/**
 * No npm configuration from the synced tree: an `.npmrc` that arrives from a peer could point the
 * registry at a server of theirs. Every npm run here has such an `.npmrc` naming a trap registry
 * on loopback, and the user's own config naming the real one; the trap must see no request.
 * Real npm, verdaccio, hub and command lines.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cacache from 'cacache';
import { HubClient } from '../../src/agent/client.ts';
import { createTallyCounter } from '../../src/prewarm/counter.ts';
import { readLockfile } from '../../src/prewarm/npm-install.ts';
import { warmNpm } from '../../src/prewarm/warm-npm.ts';
import { cleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';
import { checkoutOf, type NpmFixture, startNpmFixture } from './npm-project.ts';

let npm: NpmFixture;
let project: string;
let trap: { url: string; requests: string[]; stop: () => void };

/** A registry that records every request and serves nothing. */
function startTrap() {
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      requests.push(`${request.method} ${new URL(request.url).pathname}`);
      return new Response('trapped', { status: 500 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/`, requests, stop: () => server.stop(true) };
}

/** The `.npmrc` a hostile peer syncs: the trap as registry, for every host a lockfile names. */
const hostileNpmrc = () => `registry=${trap.url}\nreplace-registry-host=always\n`;

/** The user's own config, as a user's ~/.npmrc would name their registry. */
const userEnv = () => ({ env: { npm_config_userconfig: npm.registry.userconfig } });

beforeAll(async () => {
  npm = await startNpmFixture();
  trap = startTrap();
  await npm.publish('alpha', '1.0.0');
  await npm.publish('gamma', '1.0.0');
  project = await npm.makeProject({ alpha: '1.0.0' });
  // A lockfile as npm writes it against the public registry: npm maps that host to the registry
  // its config names, so the config decides where the tarballs come from.
  const lock = readFileSync(join(project, 'package-lock.json'), 'utf8');
  writeFileSync(
    join(project, 'package-lock.json'),
    lock.replaceAll(npm.registry.url, 'https://registry.npmjs.org/'),
  );
  writeFileSync(join(project, '.npmrc'), hostileNpmrc());
}, 120_000);

afterAll(async () => {
  trap.stop();
  await cleanup();
  await npm.stop();
});

afterEach(async () => {
  await stopAllCli();
});

describe('a synced .npmrc naming another registry', () => {
  it('is not used by the agent, neither to install the lockfile nor to warm new imports', async () => {
    const checkout = checkoutOf(project);
    const cache = join(tempDir('warmsync-agent-cache-'), 'npm');
    const agent = startCli(
      [
        'agent',
        checkout,
        '--server',
        startHub().url,
        '--workspace',
        'web',
        '--state',
        tempDir('warmsync-state-'),
        '--npm-cache',
        cache,
      ],
      userEnv(),
    );
    await waitUntil(
      () => agent.output().includes('installed node_modules with npm ci'),
      'the install',
      90_000,
    );
    expect(readFileSync(join(checkout, 'node_modules', 'alpha', 'lib', 'index.js'), 'utf8')).toContain(
      'alpha@1.0.0',
    );
    await waitUntil(() => agent.output().includes('watching'), 'the agent to watch', 30_000);
    writeFileSync(join(checkout, 'main.ts'), "import gamma from 'gamma';\n");
    await waitUntil(() => agent.output().includes('prewarm: warmed gamma'), 'gamma to be warmed', 60_000);
    expect(trap.requests).toEqual([]);
  }, 120_000);

  it('is not used by prewarm --server to build a snapshot', async () => {
    const hub = startHub();
    const cli = startCli(
      [
        'prewarm',
        project,
        '--server',
        hub.url,
        '--workspace',
        'web',
        '--npm-cache',
        tempDir('warmsync-cache-'),
      ],
      userEnv(),
    );
    const code = await cli.process.exited;
    expect(cli.output()).toContain('stored in workspace web');
    expect(code).toBe(0);
    const client = new HubClient({ server: hub.url, workspace: 'web', agentId: 'snapshot' });
    expect(await client.snapshot(readLockfile(project)!.hash)).toBeDefined();
    expect(trap.requests).toEqual([]);
  }, 120_000);

  it("above the warmer's run folders is not used either", async () => {
    // A shared temp folder someone else gave a package.json and an .npmrc: npm would take it as
    // the project of a run folder beneath it.
    const shared = tempDir('warmsync-shared-tmp-');
    writeFileSync(join(shared, 'package.json'), '{}');
    writeFileSync(join(shared, '.npmrc'), hostileNpmrc());
    mkdirSync(join(shared, 'runs'));
    const sharedCache = join(tempDir('warmsync-shared-cache-'), 'npm');
    const [outcome] = await warmNpm([{ name: 'gamma', range: '^1.0.0' }], {
      sharedCache,
      workRoot: join(shared, 'runs'),
      counter: createTallyCounter(),
      log: () => {},
      userconfig: npm.registry.userconfig,
    });
    expect(outcome).toMatchObject({ ok: true });
    expect(
      Object.keys(await cacache.ls(join(sharedCache, '_cacache'))).some((k) => k.includes('gamma')),
    ).toBe(true);
    expect(trap.requests).toEqual([]);
  }, 60_000);
});
