/**
 * A large batch writes its staged files in the thread pool, side by side (writeStaged): the
 * versions land as a batch written on the main thread lands them, modes included, and a write
 * that fails is reported for a retry with nothing left behind, and nobody else's file removed.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApplyItem, applyBatch, type ItemOutcome } from '../../src/agent/applier.ts';
import { finishWrite, stageContent, stampOf, writeStaged } from '../../src/agent/apply.ts';
import { ChunkCache } from '../../src/agent/chunk-cache.ts';
import { Durability } from '../../src/agent/durability.ts';
import { fileContent } from '../../src/agent/local-tree.ts';
import { renameNoReplace } from '../../src/agent/rename-no-replace.ts';
import { Spellings } from '../../src/agent/spelling.ts';
import { EXACT_NAMES } from '../../src/core/folding.ts';
import { TEMP_FILE_PREFIX } from '../../src/core/paths.ts';
import { cachedApplierDeps } from '../helpers/cached-applier.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'staged-write-'));
  dirs.push(dir);
  return dir;
}

function tempFilesIn(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((p) =>
    p.split('/').some((s) => s.startsWith(TEMP_FILE_PREFIX)),
  );
}

const text = (s: string) => new TextEncoder().encode(s);

/** Stages a new file as a large batch does: checked, its bytes not yet written. */
function stageDeferred(root: string, path: string, bytes: Uint8Array, exec: boolean, mode: number) {
  const staged = stageContent(
    root,
    path,
    fileContent(bytes, exec, mode),
    undefined,
    bytes,
    new Set(),
    new Spellings(root, EXACT_NAMES),
    undefined,
    true,
  );
  if (staged.ok !== 'staged') throw new Error(`not staged: ${JSON.stringify(staged)}`);
  return staged;
}

describe('staged writes in the thread pool', () => {
  it('lands every file of a large batch with its content and mode, an edited file keeping its exact bits', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'lib'));
    writeFileSync(join(root, 'lib', 'kept.txt'), 'old\n');
    // Group-writable: the umask would narrow a new file to 0644, an edited one keeps 0664.
    chmodSync(join(root, 'lib', 'kept.txt'), 0o664);
    const cache = new ChunkCache(1 << 22);
    const items: ApplyItem[] = [];
    for (let i = 0; i < 40; i++) {
      const bytes = text(`file ${i}\n`);
      const content = fileContent(bytes, i % 5 === 0, 0o644);
      if (content.kind === 'file') cache.addFile(content.chunks, bytes);
      items.push({
        entry: { path: `lib/f${i}.txt`, content, vector: { b: 1 }, seq: i + 1, agent: 'b' },
        obs: { content: { kind: 'deleted' } },
      });
    }
    const edited = text('new\n');
    const editedContent = fileContent(edited, false, 0o664);
    if (editedContent.kind === 'file') cache.addFile(editedContent.chunks, edited);
    const keptPath = join(root, 'lib', 'kept.txt');
    items.push({
      entry: { path: 'lib/kept.txt', content: editedContent, vector: { b: 2 }, seq: 41, agent: 'b' },
      obs: { content: fileContent(readFileSync(keptPath), false, 0o664), stat: stampOf(lstatSync(keptPath)) },
    });
    const outcomes = new Map<string, ItemOutcome>();
    await applyBatch(
      cachedApplierDeps(root, cache, new Durability(root, true), 8),
      items,
      (applied, outcome) => outcomes.set(applied.entry.path, outcome),
    );
    expect(outcomes.size).toBe(41);
    for (const [path, outcome] of outcomes) expect({ path, ok: outcome.ok }).toEqual({ path, ok: true });
    for (let i = 0; i < 40; i++) {
      const path = join(root, 'lib', `f${i}.txt`);
      expect(readFileSync(path, 'utf8')).toBe(`file ${i}\n`);
      expect(lstatSync(path).mode & 0o111).toBe(i % 5 === 0 ? 0o111 : 0);
    }
    expect(readFileSync(keptPath, 'utf8')).toBe('new\n');
    expect(lstatSync(keptPath).mode & 0o777).toBe(0o664);
    expect(tempFilesIn(root)).toEqual([]);
  });

  it('reports a write whose folder went away for a retry, and leaves no temporary file', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'gone'));
    const bytes = text('content\n');
    const staged = stageDeferred(root, 'gone/a.txt', bytes, false, 0o644);
    // Deferred: nothing is written until writeStaged runs.
    expect(existsSync(staged.staged.temp)).toBe(false);
    rmSync(join(root, 'gone'), { recursive: true });
    const failed = await writeStaged(staged.staged);
    expect(failed).toMatchObject({ ok: false, code: 'io-error', retry: true });
    expect(existsSync(join(root, 'gone'))).toBe(false);
    expect(tempFilesIn(root)).toEqual([]);
  });

  it('never removes a file that already holds the temporary name', async () => {
    const root = tempDir();
    const bytes = text('content\n');
    const staged = stageDeferred(root, 'a.txt', bytes, false, 0o644);
    writeFileSync(staged.staged.temp, 'someone else\n');
    const failed = await writeStaged(staged.staged);
    expect(failed).toMatchObject({ ok: false, code: 'io-error', retry: true });
    expect(readFileSync(staged.staged.temp, 'utf8')).toBe('someone else\n');
    expect(existsSync(join(root, 'a.txt'))).toBe(false);
  });

  it('writes a deferred file that finishes like one written at once', async () => {
    const root = tempDir();
    const bytes = text('content\n');
    const staged = stageDeferred(root, 'a.txt', bytes, true, 0o755);
    expect(await writeStaged(staged.staged)).toBeUndefined();
    expect(staged.staged.pending).toBeUndefined();
    expect(finishWrite(staged.staged)).toMatchObject({ ok: true });
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('content\n');
    expect(lstatSync(join(root, 'a.txt')).mode & 0o111).toBe(0o111);
  });

  it('keeps a file that appeared at a new path after its look, and the staged one is not renamed over it', async () => {
    const root = tempDir();
    const staged = stageDeferred(root, 'a.txt', text('remote\n'), false, 0o644);
    expect(await writeStaged(staged.staged)).toBeUndefined();
    // Created after the stage's look, as an editor's save between the look and the rename would be.
    writeFileSync(join(root, 'a.txt'), 'typed here\n');
    expect(finishWrite(staged.staged)).toMatchObject({ ok: false, code: 'local-changed' });
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('typed here\n');
    expect(tempFilesIn(root)).toEqual([]);
  });

  it('proves a new file written in the thread pool by the stat it took there', async () => {
    const root = tempDir();
    const staged = stageDeferred(root, 'a.txt', text('remote\n'), false, 0o644);
    expect(await writeStaged(staged.staged)).toBeUndefined();
    expect(staged.staged.written).toMatchObject({ size: 7, ino: lstatSync(staged.staged.temp).ino });
    await Bun.sleep(5);
    const outcome = finishWrite(staged.staged);
    expect(outcome).toMatchObject({ ok: true, stat: { ino: staged.staged.written!.ino, size: 7 } });
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('remote\n');
  });
});

describe('a new file staged for the thread pool without a look at its path', () => {
  it('is refused where a local file already is, which stays as it was', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'a.txt'), 'local, never observed\n');
    const staged = stageDeferred(root, 'a.txt', text('remote\n'), false, 0o644);
    expect(await writeStaged(staged.staged)).toBeUndefined();
    expect(finishWrite(staged.staged)).toMatchObject({ ok: false, code: 'local-changed', retry: false });
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('local, never observed\n');
    expect(tempFilesIn(root)).toEqual([]);
  });

  it('takes the place of an empty folder, and is refused by a folder with something in it', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'empty'));
    mkdirSync(join(root, 'full'));
    writeFileSync(join(root, 'full', 'kept.txt'), 'kept\n');
    const intoEmpty = stageDeferred(root, 'empty', text('file now\n'), false, 0o644);
    const intoFull = stageDeferred(root, 'full', text('file now\n'), false, 0o644);
    expect(await writeStaged(intoEmpty.staged)).toBeUndefined();
    expect(await writeStaged(intoFull.staged)).toBeUndefined();
    expect(finishWrite(intoEmpty.staged)).toMatchObject({ ok: true });
    expect(readFileSync(join(root, 'empty'), 'utf8')).toBe('file now\n');
    expect(finishWrite(intoFull.staged)).toMatchObject({ ok: false });
    expect(readFileSync(join(root, 'full', 'kept.txt'), 'utf8')).toBe('kept\n');
    expect(tempFilesIn(root)).toEqual([]);
  });

  it('is refused where a link is, which is not followed', async () => {
    const root = tempDir();
    const outside = tempDir();
    symlinkSync(join(outside, 'target.txt'), join(root, 'link'));
    const staged = stageDeferred(root, 'link', text('remote\n'), false, 0o644);
    expect(await writeStaged(staged.staged)).toBeUndefined();
    expect(finishWrite(staged.staged)).toMatchObject({ ok: false, code: 'local-changed' });
    expect(lstatSync(join(root, 'link')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(outside, 'target.txt'))).toBe(false);
  });
});

describe('a new file written on the main thread (a small batch)', () => {
  it('is renamed without replacing a file saved at its path after the stage', () => {
    const root = tempDir();
    const content = fileContent(text('remote\n'), false, 0o644);
    const staged = stageContent(root, 'a.txt', content, undefined, text('remote\n'));
    if (staged.ok !== 'staged') throw new Error('not staged');
    expect(staged.staged.written).toMatchObject({ size: 7 });
    writeFileSync(join(root, 'a.txt'), 'typed here\n');
    expect(finishWrite(staged.staged)).toMatchObject({ ok: false, code: 'local-changed' });
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('typed here\n');
    expect(tempFilesIn(root)).toEqual([]);
  });
});

describe('renameNoReplace', () => {
  const rename = renameNoReplace();

  it.skipIf(process.platform !== 'linux')('is available on Linux', () => {
    expect(rename).toBeDefined();
  });

  it.skipIf(!rename)('renames onto a free name, and moves nothing onto a taken one', () => {
    const root = tempDir();
    writeFileSync(join(root, 'from'), 'moved');
    expect(rename!(join(root, 'from'), join(root, 'to'))).toBe('renamed');
    expect(readFileSync(join(root, 'to'), 'utf8')).toBe('moved');
    writeFileSync(join(root, 'again'), 'second');
    expect(rename!(join(root, 'again'), join(root, 'to'))).toBe('exists');
    expect(readFileSync(join(root, 'to'), 'utf8')).toBe('moved');
    expect(readFileSync(join(root, 'again'), 'utf8')).toBe('second');
    mkdirSync(join(root, 'folder'));
    expect(rename!(join(root, 'again'), join(root, 'folder'))).toBe('exists');
  });

  it.skipIf(!rename)('throws what rename would for a missing source', () => {
    const root = tempDir();
    expect(() => rename!(join(root, 'missing'), join(root, 'to'))).toThrow(/^ENOENT: rename/);
  });
});
