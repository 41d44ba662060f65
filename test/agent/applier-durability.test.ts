/**
 * What the applier flushes, and in what order: each staged file's content before any rename, then
 * the folders that hold the new names and the removals; a file renamed into place is not flushed
 * a second time (a rename changes only its folder). And a flush never opens anything through a
 * link: a staged link may point anywhere, at a FIFO whose open would never return.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type ApplyItem, applyBatch, type ItemOutcome } from '../../src/agent/applier.ts';
import { stampOf } from '../../src/agent/apply.ts';
import { ChunkCache } from '../../src/agent/chunk-cache.ts';
import { Durability, fsyncPath } from '../../src/agent/durability.ts';
import { fileContent } from '../../src/agent/local-tree.ts';
import { TEMP_FILE_PREFIX } from '../../src/core/paths.ts';
import { cachedApplierDeps } from '../helpers/cached-applier.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'applier-durability-'));
  dirs.push(dir);
  return dir;
}

describe('the applier', () => {
  it('flushes staged content before the renames, then only the folders of the new names', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'old.txt'), 'to be removed\n');
    const synced: string[] = [];
    const cache = new ChunkCache(1 << 20);
    const item = (path: string, text: string): ApplyItem => {
      const bytes = new TextEncoder().encode(text);
      const content = fileContent(bytes, false, 0o644);
      if (content.kind === 'file') cache.addFile(content.chunks, bytes);
      return {
        entry: { path, content, vector: { b: 1 }, seq: 1, agent: 'b' },
        obs: { content: { kind: 'deleted' } },
      };
    };
    // A removal is of the file as it was observed: its stat, from disk.
    const removal: ApplyItem = {
      entry: { path: 'old.txt', content: { kind: 'deleted' }, vector: { b: 2 }, seq: 2, agent: 'b' },
      obs: {
        content: fileContent(readFileSync(join(root, 'old.txt')), false, 0o644),
        stat: stampOf(lstatSync(join(root, 'old.txt'))),
      },
    };
    const items = [item('a/one.txt', 'one\n'), item('a/two.txt', 'two\n'), item('top.txt', 'top\n'), removal];
    const outcomes = new Map<string, ItemOutcome>();
    await applyBatch(
      cachedApplierDeps(
        root,
        cache,
        new Durability(root, true, (path) => {
          synced.push(path);
          fsyncPath(path);
        }),
      ),
      items,
      (applied, outcome) => outcomes.set(applied.entry.path, outcome),
    );
    for (const path of ['a/one.txt', 'a/two.txt', 'top.txt', 'old.txt'])
      expect(outcomes.get(path)?.ok).toBe(true);
    expect(readFileSync(join(root, 'a/two.txt'), 'utf8')).toBe('two\n');
    const temps = synced.filter((p) => basename(p).startsWith(TEMP_FILE_PREFIX));
    expect(temps).toHaveLength(3);
    // After the content: the folders holding the new names and the removal, each once, and no
    // file renamed into place again.
    expect(synced.slice(0, 3)).toEqual(temps);
    expect(synced.slice(3).sort()).toEqual([root, join(root, 'a')].sort());
  });

  it('never opens a path through a link when it flushes it', () => {
    const root = tempDir();
    const fifo = join(root, 'fifo');
    expect(Bun.spawnSync(['mkfifo', fifo]).exitCode).toBe(0);
    symlinkSync(fifo, join(root, 'link'));
    // Opening the FIFO for reading would wait for a writer forever, so the flushes run in a
    // process of their own that is killed if it does not finish.
    const module = join(import.meta.dir, '../../src/agent/durability.ts');
    const script = `const { Durability, fsyncPath } = await import(${JSON.stringify(module)});
      fsyncPath(process.argv[1] + '/link');
      new Durability(process.argv[1]).flush([process.argv[1] + '/link']);
      new Durability(process.argv[1]).flushContent([process.argv[1] + '/link']);
      console.log('flushed');`;
    const run = Bun.spawnSync([process.execPath, '-e', script, root], { timeout: 10_000 });
    expect(run.stdout.toString().trim()).toBe('flushed');
    expect(run.exitCode).toBe(0);
  });
});
