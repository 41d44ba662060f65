/**
 * Nothing runs unasked: package.json and package-lock.json arrive from peers, so the installs the
 * agent and `warmsync prewarm --restore` make run no lifecycle script, the project's or a
 * dependency's, unless the user passed --allow-scripts. Real npm, registry, hub and agent.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HubClient } from '../../src/agent/client.ts';
import { readLockfile } from '../../src/prewarm/npm-install.ts';
import { uploadSnapshot } from '../../src/prewarm/snapshot-upload.ts';
import { cleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';
import { checkoutOf, type NpmFixture, startNpmFixture } from './npm-project.ts';

let npm: NpmFixture;
let project: string;

/** A script that leaves `name` in the folder above the one npm runs in: the checkout itself. */
const marker = (name: string) =>
  `node -e "require('fs').writeFileSync(require('path').resolve(process.env.INIT_CWD, '..', '${name}'), 'ran')"`;

beforeAll(async () => {
  npm = await startNpmFixture();
  await npm.publish('scripted', '1.0.0', { scripts: { postinstall: marker('dependency-postinstall-ran') } });
  await npm.publish('plain', '1.0.0');
  project = await npm.makeProject(
    { scripted: '1.0.0', plain: '1.0.0' },
    { preinstall: marker('project-preinstall-ran'), postinstall: marker('project-postinstall-ran') },
  );
}, 120_000);

afterAll(async () => {
  await cleanup();
  await npm.stop();
});

afterEach(async () => {
  await stopAllCli();
});

/** The registry reaches npm through the user's own config, as a user's ~/.npmrc would name it. */
const userEnv = () => ({ env: { npm_config_userconfig: npm.registry.userconfig } });

function startAgent(hub: { url: string }, checkout: string, extra: string[] = []) {
  return startCli(
    [
      'agent',
      checkout,
      '--server',
      hub.url,
      '--workspace',
      'web',
      '--state',
      tempDir('warmsync-state-'),
      '--npm-cache',
      npm.npmCache,
      ...extra,
    ],
    userEnv(),
  );
}

async function hubWithSnapshot() {
  const hub = startHub();
  const lockfile = readLockfile(project)!;
  await uploadSnapshot(new HubClient({ server: hub.url, workspace: 'web', agentId: 'snapshot' }), {
    installRoot: project,
    lockfile: lockfile.bytes.toString('utf8'),
    lockHash: lockfile.hash,
    npmCache: npm.npmCache,
  });
  return hub;
}

const ran = (checkout: string, name: string) => existsSync(join(checkout, name));

describe('installs the agent makes', () => {
  it('run no script of the project or its dependencies without --allow-scripts', async () => {
    const checkout = checkoutOf(project);
    const agent = startAgent(startHub(), checkout);
    await waitUntil(
      () => agent.output().includes('installed node_modules with npm ci'),
      'the install',
      90_000,
    );
    expect(existsSync(join(checkout, 'node_modules', 'scripted', 'package.json'))).toBe(true);
    expect(ran(checkout, 'dependency-postinstall-ran')).toBe(false);
    expect(ran(checkout, 'project-preinstall-ran')).toBe(false);
    expect(ran(checkout, 'project-postinstall-ran')).toBe(false);
  }, 120_000);

  it('run the scripts with --allow-scripts', async () => {
    const checkout = checkoutOf(project);
    const agent = startAgent(startHub(), checkout, ['--allow-scripts']);
    await waitUntil(
      () => agent.output().includes('installed node_modules with npm ci'),
      'the install',
      90_000,
    );
    expect(ran(checkout, 'dependency-postinstall-ran')).toBe(true);
    expect(ran(checkout, 'project-preinstall-ran')).toBe(true);
    expect(ran(checkout, 'project-postinstall-ran')).toBe(true);
  }, 120_000);
});

describe('snapshot restores', () => {
  it('run no install script without --allow-scripts, and say which were left out', async () => {
    const checkout = checkoutOf(project);
    const agent = startAgent(await hubWithSnapshot(), checkout);
    await waitUntil(() => agent.output().includes('restored node_modules'), 'the restore', 90_000);
    expect(agent.output()).toContain('install scripts of scripted not run (--allow-scripts runs them)');
    expect(existsSync(join(checkout, 'node_modules', 'scripted', 'package.json'))).toBe(true);
    expect(ran(checkout, 'dependency-postinstall-ran')).toBe(false);
  }, 120_000);

  it("run the dependencies' install scripts with --allow-scripts", async () => {
    const checkout = checkoutOf(project);
    const agent = startAgent(await hubWithSnapshot(), checkout, ['--allow-scripts']);
    await waitUntil(() => agent.output().includes('restored node_modules'), 'the restore', 90_000);
    expect(ran(checkout, 'dependency-postinstall-ran')).toBe(true);
  }, 120_000);
});

describe('warmsync prewarm --restore', () => {
  it('runs no script without --allow-scripts', async () => {
    const checkout = checkoutOf(project);
    const hub = startHub();
    const cli = startCli(
      [
        'prewarm',
        checkout,
        '--restore',
        '--server',
        hub.url,
        '--workspace',
        'web',
        '--npm-cache',
        npm.npmCache,
      ],
      userEnv(),
    );
    const code = await cli.process.exited;
    if (code !== 0) console.log(cli.output());
    expect(code).toBe(0);
    expect(cli.output()).toContain('installed node_modules with npm ci');
    expect(existsSync(join(checkout, 'node_modules', 'scripted'))).toBe(true);
    expect(ran(checkout, 'dependency-postinstall-ran')).toBe(false);
    expect(ran(checkout, 'project-preinstall-ran')).toBe(false);
  }, 120_000);
});
