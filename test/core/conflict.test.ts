import { describe, expect, it } from 'bun:test';
import { conflictCopyPath } from '../../src/core/conflict.ts';
import { checkRelativePath, parentPath } from '../../src/core/paths.ts';

const HASH = 'ff00aa11223344556677889900aabbccddeeff00112233445566778899aabbcc';

describe('conflictCopyPath', () => {
  const cases: [name: string, path: string, copy: string][] = [
    ['a file with an extension in a folder', 'src/app.ts', 'src/app.conflict-a1b2-ff00aa11.ts'],
    ['a top-level file with an extension', 'notes.md', 'notes.conflict-a1b2-ff00aa11.md'],
    ['an extensionless top-level name', 'Makefile', 'Makefile.conflict-a1b2-ff00aa11'],
    ['an extensionless name in a folder', 'build/Makefile', 'build/Makefile.conflict-a1b2-ff00aa11'],
    ['a top-level dotfile', '.bashrc', '.bashrc.conflict-a1b2-ff00aa11'],
    ['a dotfile in a folder', 'home/.bashrc', 'home/.bashrc.conflict-a1b2-ff00aa11'],
    ['a double extension, keeping only the last one last', 'a/b.tar.gz', 'a/b.tar.conflict-a1b2-ff00aa11.gz'],
    ['a dotfile with an extension', '.env.local', '.env.conflict-a1b2-ff00aa11.local'],
    ['a dot in the folder name only', 'v1.2/LICENSE', 'v1.2/LICENSE.conflict-a1b2-ff00aa11'],
    ['a deep path', 'a/b/c/d.json', 'a/b/c/d.conflict-a1b2-ff00aa11.json'],
  ];
  for (const [name, path, copy] of cases) {
    it(`renames ${name}: '${path}' -> '${copy}'`, () => {
      expect(conflictCopyPath(path, 'a1b2', HASH)).toBe(copy);
    });
  }

  for (const [name, path] of cases) {
    it(`keeps the copy of ${name} in the same folder, as a valid path`, () => {
      const copy = conflictCopyPath(path, 'a1b2', HASH);
      expect(parentPath(copy)).toBe(parentPath(path));
      expect(checkRelativePath(copy).ok).toBe(true);
    });
  }

  it('gives different copies for different agents', () => {
    expect(conflictCopyPath('a.txt', 'laptop', HASH)).not.toBe(conflictCopyPath('a.txt', 'desktop', HASH));
  });

  it('gives different copies for versions whose hashes differ in the first 8 digits', () => {
    expect(conflictCopyPath('a.txt', 'a1', `0${HASH.slice(1)}`)).not.toBe(
      conflictCopyPath('a.txt', 'a1', HASH),
    );
  });
});
