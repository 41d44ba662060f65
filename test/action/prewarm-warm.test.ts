import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cacache from 'cacache';
import { startRegistry, type TestRegistry } from '../prewarm/npm-registry.ts';
import { runAction } from './run-action.ts';

// The committed bundle in mode prewarm, run by node against a temporary git repository with a
// history, fetching from a real npm registry (verdaccio) on loopback into a real npm cache.
//
// History: other.ts (imports beta-lib) is added alone; api.ts (alpha-lib, cached-lib) and
// client.ts (gamma-lib, which no package.json declares) change together three times; then the
// push changes api.ts alone. The hot set is api.ts (changed) and client.ts (predicted: 3 of api.ts's 4 changes); other.ts
// never changed with api.ts, so beta-lib is not warmed. cached-lib is in the npm cache before.

let registry: TestRegistry;
let root: string;
let repo: string;
let npmCache: string;
let eventPath: string;
let pushedSha: string;

const git = (...args: string[]) =>
  execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Dev',
      GIT_AUTHOR_EMAIL: 'dev@example.com',
      GIT_COMMITTER_NAME: 'Dev',
      GIT_COMMITTER_EMAIL: 'dev@example.com',
    },
  }).trim();

async function commit(files: Record<string, string>, message: string): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(repo, path, '..'), { recursive: true });
    await writeFile(join(repo, path), content);
  }
  git('add', '-A');
  git('commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
}

beforeAll(async () => {
  registry = await startRegistry();
  for (const [name, version] of [
    ['alpha-lib', '1.0.0'],
    ['beta-lib', '1.2.0'],
    ['gamma-lib', '2.0.0'],
    ['cached-lib', '1.0.0'],
  ] as const) {
    await registry.publish(name, version);
  }
  root = await mkdtemp(join(tmpdir(), 'warmsync-action-warm-'));
  repo = join(root, 'repo');
  npmCache = join(root, 'npm-cache');
  await mkdir(repo);
  git('init', '-q', '-b', 'main');
  const manifest = JSON.stringify({
    name: 'demo',
    dependencies: { 'alpha-lib': '^1.0.0', 'beta-lib': '^1.0.0' },
    devDependencies: { 'cached-lib': '^1.0.0' },
  });
  await commit({ 'package.json': manifest, 'src/other.ts': "import b from 'beta-lib';\n" }, 'other');
  for (let i = 0; i < 3; i++) {
    await commit(
      {
        'src/api.ts': `import a from 'alpha-lib';\nimport type { T } from 'types-only';\nimport c from 'cached-lib';\nexport const v = ${i};\n`,
        'src/client.ts': `import g from 'gamma-lib';\nimport { api } from './api';\nexport const w = ${i};\n`,
      },
      `api and client ${i}`,
    );
  }
  const before = git('rev-parse', 'HEAD');
  pushedSha = await commit(
    { 'src/api.ts': "import a from 'alpha-lib';\nimport c from 'cached-lib';\nexport const v = 99;\n" },
    'api',
  );
  eventPath = join(root, 'event.json');
  await writeFile(eventPath, JSON.stringify({ before, after: pushedSha, ref: 'refs/heads/main' }));
  execFileSync('npm', ['cache', 'add', 'cached-lib@1.0.0', '--cache', npmCache, '--registry', registry.url]);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const run = (inputs: Record<string, string> = {}) =>
  runAction({
    inputs: { mode: 'prewarm', 'npm-cache': npmCache, 'history-depth': '50', ...inputs },
    workspace: repo,
    env: { GITHUB_SHA: pushedSha, GITHUB_EVENT_PATH: eventPath, npm_config_registry: registry.url },
  });

/** Package names with a tarball in the npm cache, read with cacache (npm's cache library). */
async function tarballsInCache(): Promise<string[]> {
  const keys = Object.keys(await cacache.ls(join(npmCache, '_cacache')));
  return keys
    .map((key) => /\/([^/]+)\/-\/[^/]+\.tgz$/.exec(key)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

describe('mode prewarm on a repository with a history', () => {
  let first: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    first = await run({ 'save-cache': 'true' });
  }, 120_000);

  it('exits 0', () => {
    expect({ code: first.exitCode, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('outputs the hot set: the changed file, then the file the history says changes with it', () => {
    expect(first.outputs['hot-files']).toBe('src/api.ts\nsrc/client.ts');
  });

  it('estimates the hit rate as the share of the hot set packages cached before warming: 1 of 3', () => {
    expect(first.outputs['hit-rate-estimate']).toBe('0.3333');
  });

  it('warms the missing packages into the npm cache, and only those of the hot set', async () => {
    expect(first.outputs.warmed).toBe('true');
    expect(await tarballsInCache()).toEqual(['alpha-lib', 'cached-lib', 'gamma-lib']);
  });

  it('outputs the lockfile cache key', () => {
    expect(first.outputs['cache-key']).toMatch(/^warmsync-prewarm-linux-[0-9a-f]{32}$/);
  });

  it('says in the log when there is no Actions cache service to save to', () => {
    expect(first.outputs['cache-saved']).toBe('false');
    expect(first.stdout).toContain('The Actions cache service is not available to this step');
  });

  it('writes a job summary with the hot set and each package', () => {
    expect(first.summary).toContain(
      '| `src/client.ts` | predicted | score 0.75, together in 3 commit(s), confidence 75.0 % |',
    );
    expect(first.summary).toContain('| `cached-lib` | | in cache | |');
    expect(first.summary).toContain('| `gamma-lib` | (not declared) | missing, not in cache | warmed |');
    expect(first.summary).toContain('| `alpha-lib` | ^1.0.0 | cold, not in cache | warmed |');
  });

  it('finds everything cached on the next run: estimate 1, nothing warmed', async () => {
    const second = await run();
    expect(second.outputs).toMatchObject({ 'hit-rate-estimate': '1.0000', warmed: 'false' });
  }, 60_000);

  it('fails the step, saying why, when a server is given and there is no package-lock.json', async () => {
    const result = await run({ 'server-url': 'http://127.0.0.1:9/', workspace: 'demo' });
    expect(result.exitCode).toBe(1);
    const reason =
      'No dependency snapshot was uploaded to http://127.0.0.1:9/ (workspace demo): the repository has no package-lock.json at its root';
    expect(result.stdout).toContain(`::error::${reason}`);
    expect(result.summary).toContain(reason);
    expect(result.outputs['snapshot-uploaded']).toBe('false');
  }, 60_000);
});
