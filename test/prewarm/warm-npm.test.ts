import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTallyCounter } from '../../src/prewarm/counter.ts';
import { collectExpiredRuns, type NpmWarmOptions, warmNpm } from '../../src/prewarm/warm-npm.ts';
import { startRegistry, type TestRegistry } from './npm-registry.ts';

const run = promisify(execFile);
let registry: TestRegistry;
let scratch: string;

beforeAll(async () => {
  registry = await startRegistry();
  scratch = await mkdtemp(join(tmpdir(), 'warmsync-warm-npm-'));
  await registry.publish('warm-alpha', '1.0.0');
  await registry.publish('warm-alpha', '1.2.0');
  await registry.publish('warm-beta', '2.0.0');
  await registry.publish('@warm/gamma', '0.1.0');
}, 60_000);

afterAll(async () => {
  await registry.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function fresh(name: string): Promise<{ options: NpmWarmOptions; log: string[] }> {
  const log: string[] = [];
  const root = join(scratch, name);
  return {
    log,
    options: {
      sharedCache: join(root, 'shared'),
      workRoot: join(root, 'runs'),
      counter: createTallyCounter(),
      log: (message) => log.push(message),
      registry: registry.url,
      userconfig: registry.userconfig,
    },
  };
}

/** Installs `spec` into a throwaway project from `cache` alone: proof the cache holds it. */
async function installOffline(cache: string, spec: string): Promise<string> {
  const project = await mkdtemp(join(scratch, 'project-'));
  await writeFile(join(project, 'package.json'), '{"name":"probe","version":"0.0.0"}');
  const args = ['install', spec, '--offline', '--cache', cache, '--userconfig', registry.userconfig];
  await run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project });
  return project;
}

describe('warmNpm', () => {
  it('fills the shared cache so npm can install offline, resolving the range', async () => {
    const { options } = await fresh('basic');
    const outcomes = await warmNpm([{ name: 'warm-alpha', range: '^1.0.0' }], options);
    expect(outcomes).toMatchObject([{ spec: 'warm-alpha@^1.0.0', ok: true }]);
    // At least the packument and the tarball.
    expect(outcomes[0]?.published).toBeGreaterThanOrEqual(2);
    const project = await installOffline(options.sharedCache, 'warm-alpha@^1.0.0');
    const installed = await Bun.file(join(project, 'node_modules/warm-alpha/package.json')).json();
    expect(installed.version).toBe('1.2.0');
  }, 60_000);

  it('counts attempts and hits per ecosystem', async () => {
    const { options } = await fresh('counting');
    const counter = createTallyCounter();
    await warmNpm(
      [
        { name: 'warm-beta', range: '' },
        { name: 'warm-does-not-exist', range: '^1' },
      ],
      { ...options, counter },
    );
    expect(counter.attempts).toEqual({ npm: 2, pypi: 0, go: 0 });
    expect(counter.hits).toEqual({ npm: 1, pypi: 0, go: 0 });
  }, 60_000);

  it('logs and returns a failure instead of throwing, and publishes nothing for it', async () => {
    const { options, log } = await fresh('failure');
    const [outcome] = await warmNpm([{ name: 'warm-does-not-exist', range: '' }], options);
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toBeTruthy();
    expect(log).toHaveLength(1);
    expect(await readdir(join(options.sharedCache, '_cacache')).catch(() => [])).toEqual([]);
  }, 60_000);

  it('gives up on a package when npm exceeds the timeout', async () => {
    const { options } = await fresh('timeout');
    const [outcome] = await warmNpm([{ name: 'warm-beta', range: '' }], { ...options, timeoutMs: 1 });
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toContain('timed out');
  }, 60_000);

  it('keeps two concurrent runs on one shared cache from corrupting it or each other', async () => {
    const { options } = await fresh('concurrent');
    const specs = [
      { name: 'warm-alpha', range: '^1.0.0' },
      { name: 'warm-beta', range: '2.0.0' },
      { name: '@warm/gamma', range: '' },
    ];
    const [first, second] = await Promise.all([
      warmNpm(specs, options),
      warmNpm([...specs].reverse(), { ...options, concurrency: 2 }),
    ]);
    expect([...(first ?? []), ...(second ?? [])].every((outcome) => outcome.ok)).toBe(true);
    const { stdout } = await run('npm', ['cache', 'verify', '--cache', options.sharedCache]);
    expect(stdout).not.toMatch(/Corrupted content removed: [1-9]/);
    await installOffline(options.sharedCache, '@warm/gamma');
    await installOffline(options.sharedCache, 'warm-beta@2.0.0');
    expect(await readdir(options.workRoot)).toEqual([]);
  }, 90_000);

  it('never fetches a git, folder or URL spec, whose packing would run its prepare script', async () => {
    const { options, log } = await fresh('not-registry');
    // A fake npm that would leave a trace if it ran at all.
    const trace = join(scratch, 'npm-ran');
    const fakeNpm = join(scratch, 'fake-npm');
    await writeFile(fakeNpm, `#!/bin/sh\ntouch '${trace}'\n`, { mode: 0o755 });
    const outcomes = await warmNpm(
      [
        { name: 'evil', range: 'github:someone/evil' },
        { name: 'local', range: 'file:../local' },
      ],
      { ...options, npm: fakeNpm },
    );
    expect(outcomes.map((o) => o.ok)).toEqual([false, false]);
    expect(outcomes[0]?.reason).toContain('not a registry version');
    expect(log).toHaveLength(2);
    expect(await readdir(scratch)).not.toContain('npm-ran');
  });

  it('never touches the install tree of the workspace it runs for', async () => {
    const { options } = await fresh('no-install-tree');
    const workspace = await mkdtemp(join(scratch, 'workspace-'));
    await writeFile(join(workspace, 'package.json'), '{"name":"ws","version":"1.0.0"}');
    await warmNpm([{ name: 'warm-beta', range: '' }], options);
    expect((await readdir(workspace)).sort()).toEqual(['package.json']);
  }, 60_000);
});

describe('collectExpiredRuns', () => {
  it('removes run folders older than the TTL and keeps younger ones and other folders', async () => {
    const root = await mkdtemp(join(scratch, 'gc-'));
    await mkdir(join(root, 'run-1-old'));
    await mkdir(join(root, 'run-2-new'));
    await mkdir(join(root, 'keep-me'));
    const sixteenMinutesAgo = new Date(Date.now() - 16 * 60_000);
    await utimes(join(root, 'run-1-old'), sixteenMinutesAgo, sixteenMinutesAgo);
    await utimes(join(root, 'keep-me'), sixteenMinutesAgo, sixteenMinutesAgo);
    expect(await collectExpiredRuns(root, 15 * 60_000)).toBe(1);
    expect((await readdir(root)).sort()).toEqual(['keep-me', 'run-2-new']);
  });
});
