/**
 * The exact-spelling check, and what the agent's observation and writes do with it, on a real
 * case-insensitive folder (the test mount) and on a plain Linux one.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stampOf } from '../../src/agent/apply.ts';
import { Limiter } from '../../src/agent/limiter.ts';
import { fileContent, LocalTree } from '../../src/agent/local-tree.ts';
import { Spellings } from '../../src/agent/spelling.ts';
import { EXACT_NAMES, type Folding } from '../../src/core/folding.ts';
import { DEFAULT_IGNORE_OPTIONS } from '../../src/core/ignore.ts';
import { applyNow } from '../helpers/apply-now.ts';
import { caseInsensitiveUnavailable, mountCaseInsensitive } from '../helpers/casefold-fs.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

afterEach(cleanup);

const CASE: Folding = { ...EXACT_NAMES, caseInsensitive: true };

async function folder(): Promise<string> {
  const mount = await mountCaseInsensitive();
  if (!mount) throw new Error('no case-insensitive mount');
  return mount.dir;
}

function tree(root: string, folding: Folding): LocalTree {
  const t = new LocalTree(root, new Limiter(4), {
    ignore: DEFAULT_IGNORE_OPTIONS,
    allowGit: false,
    tracked: new Set(),
  });
  t.folding = folding;
  return t;
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('Spellings on a Linux folder', () => {
  it('is a plain lstat', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'readme.md'), 'x');
    const spellings = new Spellings(dir, EXACT_NAMES);
    expect(spellings.lookup('readme.md')?.spelling).toBe('exact');
    expect(spellings.lookup('README.md')).toBeUndefined();
  });
});

describe.skipIf(caseInsensitiveUnavailable() !== undefined)('on a case-insensitive folder', () => {
  it('looks up a path as spelled, as another spelling, or as absent', async () => {
    const dir = await folder();
    mkdirSync(join(dir, 'Src'));
    writeFileSync(join(dir, 'Src', 'main.ts'), 'x');
    const spellings = new Spellings(dir, CASE);
    expect(spellings.lookup('Src/main.ts')?.spelling).toBe('exact');
    expect(spellings.lookup('src/main.ts')).toMatchObject({ spelling: 'other', stored: 'Src/main.ts' });
    expect(spellings.lookup('Src/MAIN.ts')).toMatchObject({ spelling: 'other', stored: 'Src/main.ts' });
    expect(spellings.lookup('Src/other.ts')).toBeUndefined();
  });

  it('sees a file created during its batch', async () => {
    const dir = await folder();
    const spellings = new Spellings(dir, CASE);
    expect(spellings.lookup('late.txt')).toBeUndefined();
    writeFileSync(join(dir, 'late.txt'), 'x');
    expect(spellings.lookup('late.txt')?.spelling).toBe('exact');
    expect(spellings.lookup('LATE.txt')).toMatchObject({ spelling: 'other', stored: 'late.txt' });
  });

  it('observes a path held only under another spelling as absent', async () => {
    const dir = await folder();
    writeFileSync(join(dir, 'readme.md'), 'x');
    const t = tree(dir, CASE);
    expect((await t.observe('README.md', undefined, 'always-read')).content.kind).toBe('deleted');
    expect((await t.observe('readme.md', undefined, 'always-read')).content.kind).toBe('file');
  });

  it('scans the spelling stored', async () => {
    const dir = await folder();
    mkdirSync(join(dir, 'Src'));
    writeFileSync(join(dir, 'Src', 'Main.ts'), 'x');
    expect([...(await tree(dir, CASE).scan(() => undefined)).found.keys()].sort()).toEqual([
      'Src',
      'Src/Main.ts',
    ]);
  });

  it('deletes nothing for a path held only under another spelling', async () => {
    const dir = await folder();
    writeFileSync(join(dir, 'readme.md'), 'keep me');
    const stat = stampOf(lstatSync(join(dir, 'readme.md')));
    const outcome = applyNow(
      dir,
      'README.md',
      { kind: 'deleted' },
      stat,
      undefined,
      new Set(),
      new Spellings(dir, CASE),
    );
    expect(outcome.ok).toBe(true);
    expect(readFileSync(join(dir, 'readme.md'), 'utf8')).toBe('keep me');
  });

  it('refuses to write a path whose other spelling is on disk', async () => {
    const dir = await folder();
    writeFileSync(join(dir, 'readme.md'), 'keep me');
    const content = fileContent(bytes('new'), false);
    const outcome = applyNow(
      dir,
      'README.md',
      content,
      undefined,
      bytes('new'),
      new Set(),
      new Spellings(dir, CASE),
    );
    expect(outcome).toMatchObject({ ok: false, code: 'case-clash', retry: true });
    expect(readdirSync(dir)).toEqual(['readme.md']);
    expect(readFileSync(join(dir, 'readme.md'), 'utf8')).toBe('keep me');
  });

  it('refuses to write into a folder whose other spelling is on disk', async () => {
    const dir = await folder();
    mkdirSync(join(dir, 'Src'));
    const content = fileContent(bytes('new'), false);
    const outcome = applyNow(
      dir,
      'src/new.ts',
      content,
      undefined,
      bytes('new'),
      new Set(),
      new Spellings(dir, CASE),
    );
    expect(outcome).toMatchObject({ ok: false, code: 'case-clash' });
    expect(readdirSync(join(dir, 'Src'))).toEqual([]);
  });
});
