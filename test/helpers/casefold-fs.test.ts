/**
 * The case-insensitive test mount behaves like APFS and NTFS in what the agent relies on.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { caseInsensitiveUnavailable, mountCaseInsensitive } from './casefold-fs.ts';
import { cleanup } from './harness.ts';

afterEach(cleanup);

const unavailable = caseInsensitiveUnavailable();
if (unavailable) console.warn(`case-insensitive mount tests skipped: ${unavailable}`);

async function mount() {
  const m = await mountCaseInsensitive();
  if (!m) throw new Error('no case-insensitive mount');
  return m;
}

describe.skipIf(unavailable !== undefined)('the case-insensitive mount', () => {
  it('opens a file by another case of its name', async () => {
    const { dir } = await mount();
    writeFileSync(join(dir, 'readme.md'), 'hello');
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('hello');
    expect(lstatSync(join(dir, 'ReadMe.MD')).ino).toBe(lstatSync(join(dir, 'readme.md')).ino);
  });

  it('lists the spelling a name was created with', async () => {
    const { dir, backing } = await mount();
    writeFileSync(join(dir, 'MixedCase.txt'), 'x');
    mkdirSync(join(dir, 'Src'));
    expect(readdirSync(dir).sort()).toEqual(['MixedCase.txt', 'Src']);
    expect(readdirSync(backing).sort()).toEqual(['MixedCase.txt', 'Src']);
  });

  it('writes to the existing name when another case of it is created', async () => {
    const { dir } = await mount();
    writeFileSync(join(dir, 'a.txt'), 'first');
    writeFileSync(join(dir, 'A.TXT'), 'second');
    expect(readdirSync(dir)).toEqual(['a.txt']);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('second');
    expect(() => mkdirSync(join(dir, 'A.txt'))).toThrow(/EEXIST/);
  });

  it('renames a file to another case of its name', async () => {
    const { dir, backing } = await mount();
    writeFileSync(join(dir, 'readme.md'), 'content');
    renameSync(join(dir, 'readme.md'), join(dir, 'README.md'));
    expect(readdirSync(dir)).toEqual(['README.md']);
    expect(readdirSync(backing)).toEqual(['README.md']);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('content');
  });

  it('renames a folder to another case of its name, with its files', async () => {
    const { dir } = await mount();
    mkdirSync(join(dir, 'Src'));
    writeFileSync(join(dir, 'Src', 'main.ts'), 'code');
    renameSync(join(dir, 'Src'), join(dir, 'src'));
    expect(readdirSync(dir)).toEqual(['src']);
    expect(readFileSync(join(dir, 'SRC', 'main.ts'), 'utf8')).toBe('code');
  });

  it('replaces another entry on rename and keeps the spelling given', async () => {
    const { dir } = await mount();
    writeFileSync(join(dir, 'old.txt'), 'old');
    writeFileSync(join(dir, 'new.tmp'), 'new');
    renameSync(join(dir, 'new.tmp'), join(dir, 'OLD.txt'));
    expect(readdirSync(dir)).toEqual(['OLD.txt']);
    expect(readFileSync(join(dir, 'old.txt'), 'utf8')).toBe('new');
  });

  it('removes files, folders and links by any case of their name', async () => {
    const { dir } = await mount();
    writeFileSync(join(dir, 'file.txt'), 'x');
    mkdirSync(join(dir, 'folder'));
    symlinkSync('file.txt', join(dir, 'link'));
    expect(readlinkSync(join(dir, 'LINK'))).toBe('file.txt');
    unlinkSync(join(dir, 'FILE.txt'));
    rmdirSync(join(dir, 'Folder'));
    unlinkSync(join(dir, 'Link'));
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, 'file.txt'))).toBe(false);
  });
});
