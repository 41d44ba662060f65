import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from './run-action.ts';

// The committed bundle in mode prewarm, run by node on a temporary repository.

let repo: string;
const files: Record<string, string> = {
  'package-lock.json': '{"lockfileVersion":3}\n',
  'services/api/go.sum': 'example.com/x v1.0.0 h1:abc=\n',
  'tools/requirements-dev.txt': 'pytest==8.0.0\n',
  'web/pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
  // Not lockfiles the key covers, or in skipped directories:
  'node_modules/left-pad/package-lock.json': '{}\n',
  'README.md': '# demo\n',
  'go.mod': 'module example.com/demo\n',
};

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'warmsync-prewarm-repo-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(repo, path, '..'), { recursive: true });
    await writeFile(join(repo, path), content);
  }
});

afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The documented recipe, recomputed here: SHA-256 over `<path>\0<sha256>\n` lines in path order. */
function expectedKey(paths: string[]): string {
  const lines = [...paths].sort().map((path) => `${path}\0${sha256(files[path] ?? '')}\n`);
  return `warmsync-prewarm-linux-${sha256(lines.join('')).slice(0, 32)}`;
}

const lockfiles = [
  'package-lock.json',
  'services/api/go.sum',
  'tools/requirements-dev.txt',
  'web/pnpm-lock.yaml',
];

describe('mode prewarm', () => {
  it('outputs a cache key over the lockfiles, ignoring node_modules and other files', async () => {
    const result = await runAction({ inputs: { mode: 'prewarm', 'history-depth': '50' }, workspace: repo });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toMatchObject({
      'cache-key': expectedKey(lockfiles),
      lockfiles: lockfiles.join('\n'),
    });
  });

  it('outside a git checkout: no hot set, no estimate (not 0), nothing warmed, and a warning', async () => {
    const result = await runAction({ inputs: { mode: 'prewarm' }, workspace: repo });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toMatchObject({ 'hot-files': '', 'hit-rate-estimate': '', warmed: 'false' });
    expect(result.stdout).toContain('::warning::no hot set: the git history of');
    expect(result.summary).toContain(`Cache key: \`${expectedKey(lockfiles)}\``);
    expect(result.summary).toContain(
      `| \`services/api/go.sum\` | \`${sha256(files['services/api/go.sum'] ?? '')}\` |`,
    );
    expect(result.summary).toContain('Nothing was warmed.');
  });

  it('changes the key when a lockfile changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warmsync-prewarm-repo-'));
    try {
      await writeFile(join(dir, 'bun.lock'), 'a');
      const before = await runAction({ inputs: { mode: 'prewarm' }, workspace: dir });
      await writeFile(join(dir, 'bun.lock'), 'b');
      const after = await runAction({ inputs: { mode: 'prewarm' }, workspace: dir });
      expect(before.outputs['cache-key']).not.toBe(after.outputs['cache-key'] ?? '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('warns when the checkout is shallow', async () => {
    await mkdir(join(repo, '.git'), { recursive: true });
    await writeFile(join(repo, '.git', 'shallow'), 'abc\n');
    try {
      const result = await runAction({ inputs: { mode: 'prewarm' }, workspace: repo });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(
        "::warning::the checkout is shallow; history-depth 200 needs the commit history: set 'fetch-depth: 0'",
      );
    } finally {
      await rm(join(repo, '.git'), { recursive: true, force: true });
    }
  });

  it('rejects a bad history-depth and server-url', async () => {
    const depth = await runAction({ inputs: { mode: 'prewarm', 'history-depth': 'lots' }, workspace: repo });
    expect(depth.exitCode).toBe(1);
    expect(depth.stdout).toContain("::error::input 'history-depth' must be a positive integer");
    const url = await runAction({
      inputs: { mode: 'prewarm', 'server-url': 'warmsync.internal' },
      workspace: repo,
    });
    expect(url.stdout).toContain("::error::input 'server-url' must be an http(s) URL");
  });

  it('masks the server token in the log', async () => {
    const result = await runAction({ inputs: { mode: 'prewarm', token: 's3cret-value' }, workspace: repo });
    expect(result.stdout).toContain('::add-mask::s3cret-value');
  });
});
