/**
 * Case-only renames applied as one rename on a real case-insensitive folder (the test mount).
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stampOf } from '../../src/agent/apply.ts';
import { fileContent } from '../../src/agent/local-tree.ts';
import { type RespellSource, respell } from '../../src/agent/respell.ts';
import { Spellings } from '../../src/agent/spelling.ts';
import { EXACT_NAMES, type Folding } from '../../src/core/folding.ts';
import { applyNow } from '../helpers/apply-now.ts';
import { caseInsensitiveUnavailable, mountCaseInsensitive } from '../helpers/casefold-fs.ts';
import { cleanup } from '../helpers/harness.ts';

afterEach(cleanup);

const CASE: Folding = { ...EXACT_NAMES, caseInsensitive: true };
const bytes = (text: string) => new TextEncoder().encode(text);

async function folder(): Promise<string> {
  const mount = await mountCaseInsensitive();
  if (!mount) throw new Error('no case-insensitive mount');
  return mount.dir;
}

/** What the agent observed at `path` before the batch. */
function observed(dir: string, path: string, text?: string): RespellSource {
  const stats = lstatSync(join(dir, path));
  return {
    path,
    content: text === undefined ? { kind: 'dir' } : fileContent(bytes(text), false),
    stat: stampOf(stats),
  };
}

describe.skipIf(caseInsensitiveUnavailable() !== undefined)('respell', () => {
  it('renames the stored entry to the new spelling, keeping the file', async () => {
    const dir = await folder();
    writeFileSync(join(dir, 'readme.md'), 'text');
    const ino = lstatSync(join(dir, 'readme.md')).ino;
    const moved = respell(dir, 'README.md', observed(dir, 'readme.md', 'text'), new Spellings(dir, CASE));
    expect(moved?.ino).toBe(ino);
    expect(readdirSync(dir)).toEqual(['README.md']);
  });

  it('leaves a file edited since it was observed where it is', async () => {
    const dir = await folder();
    writeFileSync(join(dir, 'readme.md'), 'text');
    const before = observed(dir, 'readme.md', 'text');
    writeFileSync(join(dir, 'readme.md'), 'an edit');
    expect(respell(dir, 'README.md', before, new Spellings(dir, CASE))).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['readme.md']);
  });

  it('renames a folder, and then finds its files already under the new spelling', async () => {
    const dir = await folder();
    mkdirSync(join(dir, 'Src'));
    writeFileSync(join(dir, 'Src', 'main.ts'), 'code');
    const folderBefore = observed(dir, 'Src');
    const fileBefore = observed(dir, 'Src/main.ts', 'code');
    const spellings = new Spellings(dir, CASE);
    expect(respell(dir, 'src', folderBefore, spellings)).toBeDefined();
    expect(respell(dir, 'src/main.ts', fileBefore, spellings)?.ino).toBe(fileBefore.stat!.ino);
    expect(readdirSync(dir)).toEqual(['src']);
  });

  it('lets a staged write put new content over the renamed file', async () => {
    const dir = await folder();
    writeFileSync(join(dir, 'readme.md'), 'old');
    const content = fileContent(bytes('new'), false);
    const outcome = applyNow(
      dir,
      'README.md',
      content,
      undefined,
      bytes('new'),
      new Set(),
      new Spellings(dir, CASE),
      observed(dir, 'readme.md', 'old'),
    );
    expect(outcome.ok).toBe(true);
    expect(readdirSync(dir)).toEqual(['README.md']);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('new');
  });
});
