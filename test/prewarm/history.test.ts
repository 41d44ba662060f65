import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { readHistory } from '../../src/prewarm/history.ts';
import { createPathFilter } from '../../src/prewarm/path-filter.ts';

let repository: string;

async function commit(files: Record<string, string>, message: string): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(repository, path)), { recursive: true });
    await writeFile(join(repository, path), text);
  }
  const git = simpleGit(repository);
  await git.add(Object.keys(files));
  await git.commit(message);
}

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), 'warmsync-history-'));
  const git = simpleGit(repository);
  await git.init();
  await git.addConfig('user.name', 'Test');
  await git.addConfig('user.email', 'test@example.invalid');
  await commit({ 'src/a.ts': '1', 'src/a.test.ts': '1' }, 'first');
  await commit({ 'docs/ünïcode.md': '1', 'gen/out.js': '1' }, 'second');
  await commit({ 'src/a.ts': '2' }, 'third');
  await commit({ 'gen/out.js': '2' }, 'only ignored paths');
});

afterAll(async () => {
  await rm(repository, { recursive: true, force: true });
});

describe('readHistory', () => {
  it('returns commits oldest first with their changed paths', async () => {
    const history = await readHistory(repository, { maxCommits: 100 });
    expect(history.map((c) => c.files)).toEqual([
      ['src/a.test.ts', 'src/a.ts'],
      ['docs/ünïcode.md', 'gen/out.js'],
      ['src/a.ts'],
      ['gen/out.js'],
    ]);
    expect(history[0]?.hash).toMatch(/^[0-9a-f]{40}$/);
    expect(history[0]?.time).toBeGreaterThan(1_600_000_000);
  });

  it('reads only the latest commits when asked for fewer', async () => {
    const history = await readHistory(repository, { maxCommits: 2 });
    expect(history.map((c) => c.files)).toEqual([['src/a.ts'], ['gen/out.js']]);
  });

  it('drops filtered paths and commits left with none', async () => {
    const history = await readHistory(repository, { maxCommits: 100, filter: createPathFilter('gen/\n') });
    expect(history.map((c) => c.files)).toEqual([
      ['src/a.test.ts', 'src/a.ts'],
      ['docs/ünïcode.md'],
      ['src/a.ts'],
    ]);
  });

  it('rejects a folder that is not a repository', async () => {
    const plain = await mkdtemp(join(tmpdir(), 'warmsync-plain-'));
    await expect(readHistory(plain, { maxCommits: 10 })).rejects.toThrow();
    await rm(plain, { recursive: true, force: true });
  });
});
