import { describe, expect, it } from 'bun:test';
import {
  ancestorPaths,
  checkRelativePath,
  collisionKey,
  MAX_PATH_DEPTH,
  type PathProblemCode,
  parentPath,
  pathDepth,
  TEMP_FILE_PREFIX,
} from '../../src/core/paths.ts';

describe('checkRelativePath rejects hostile paths', () => {
  const cases: [name: string, path: string, code: PathProblemCode][] = [
    ['the empty path', '', 'empty'],
    ["'..'", '..', 'dot-segment'],
    ["a '..' that climbs out", '../etc/passwd', 'dot-segment'],
    ["a '..' in the middle", 'a/../../b', 'dot-segment'],
    ["a '.' segment", 'a/./b', 'dot-segment'],
    ["'.' alone", '.', 'dot-segment'],
    ['an absolute path', '/abs', 'absolute'],
    ['the root', '/', 'absolute'],
    ["'//' inside", 'a//b', 'empty-segment'],
    ["a trailing '/'", 'a/', 'empty-segment'],
    ['a backslash', 'a\\b', 'backslash'],
    ['a Windows-style climb', '..\\x', 'backslash'],
    ['a drive letter', 'C:x', 'drive-letter'],
    ['a drive letter and a slash', 'c:/windows', 'drive-letter'],
    ['a NUL byte', 'a\0b', 'nul'],
    ['a newline', 'a\nb', 'control-char'],
    ['a tab', 'a\tb', 'control-char'],
    ['an escape', 'a\u001bb', 'control-char'],
    ['DEL', 'a\u007fb', 'control-char'],
    ['a lone high surrogate', 'a\ud800b', 'lone-surrogate'],
    ['a lone low surrogate', 'a\udfffb', 'lone-surrogate'],
    ['a high surrogate at the end', 'dir/a\ud83d', 'lone-surrogate'],
    ['two high surrogates', '\ud83d\ud83d', 'lone-surrogate'],
    ['the .git folder', '.git', 'git-dir'],
    ['a file under .git', '.git/config', 'git-dir'],
    ['a nested .git folder', 'vendor/lib/.git/HEAD', 'git-dir'],
    ['a temporary file', `${TEMP_FILE_PREFIX}1234`, 'reserved'],
    ['a temporary file in a folder', `src/${TEMP_FILE_PREFIX}abc`, 'reserved'],
    ['a path over 4096 bytes', `${'a/'.repeat(2048)}b`, 'too-long'],
    ['a segment over 255 bytes', 'x'.repeat(256), 'too-long'],
    ['a segment of 128 two-byte characters (256 bytes)', 'é'.repeat(128), 'too-long'],
    [
      'a path of 129 names',
      Array(MAX_PATH_DEPTH + 1)
        .fill('d')
        .join('/'),
      'too-deep',
    ],
  ];
  for (const [name, path, code] of cases) {
    it(`rejects ${name} as '${code}'`, () => {
      const check = checkRelativePath(path);
      expect(check.ok).toBe(false);
      if (!check.ok) {
        expect(check.code).toBe(code);
        expect(check.reason.length).toBeGreaterThan(0);
      }
    });
  }

  // A hub that accepts '.GIT/hooks/post-checkout' lets a peer write into the .git folder of every
  // agent on a case-insensitive filesystem (macOS, Windows), as in git's CVE-2014-9390.
  it("rejects '.GIT/hooks/x', which is the .git folder on a case-insensitive filesystem", () => {
    expect(checkRelativePath('.GIT/hooks/post-checkout')).toMatchObject({ ok: false, code: 'git-dir' });
  });
});

describe('checkRelativePath accepts good paths', () => {
  const cases: [name: string, path: string][] = [
    ['a top-level file', 'README.md'],
    ['a nested file', 'src/core/paths.ts'],
    ['a dotfile', '.bashrc'],
    ['a dotfolder other than .git', '.github/workflows/ci.yml'],
    ['a .gitignore file', '.gitignore'],
    ['a name that only starts with .git', '.gitmodules'],
    ['a name with two dots', 'a..b'],
    ['a segment of three dots', '.../x'],
    ['unicode names', 'docs/日本語/café.md'],
    ['an emoji', 'notes/🎉.txt'],
    ['spaces', 'My Documents/a b.txt'],
    ['a colon after the first character', 'ab:c'],
    ['a deep path', `${'d/'.repeat(100)}leaf`],
    ['a segment of exactly 255 bytes', 'x'.repeat(255)],
    ['a path of exactly 4096 bytes', `${`${'x'.repeat(31)}/`.repeat(127)}${'z'.repeat(32)}`],
    ['a path of exactly 128 names', Array(MAX_PATH_DEPTH).fill('d').join('/')],
    ['the temporary prefix inside a name', `notes${TEMP_FILE_PREFIX}`],
  ];
  for (const [name, path] of cases) {
    it(`accepts ${name}`, () => {
      expect(checkRelativePath(path)).toEqual({ ok: true, path });
    });
  }

  it('counts the 4096-byte case right', () => {
    expect(new TextEncoder().encode(`${`${'x'.repeat(31)}/`.repeat(127)}${'z'.repeat(32)}`).length).toBe(
      4096,
    );
  });

  it('accepts any depth where messages are read, and no climb there', () => {
    const deep = Array(2000).fill('d').join('/');
    expect(checkRelativePath(deep, { allowGit: true, anyDepth: true })).toEqual({ ok: true, path: deep });
    expect(checkRelativePath(`${deep}/..`, { allowGit: true, anyDepth: true })).toMatchObject({
      ok: false,
      code: 'dot-segment',
    });
  });

  it('accepts paths under .git when the rules allow git', () => {
    expect(checkRelativePath('.git/config', { allowGit: true })).toEqual({ ok: true, path: '.git/config' });
  });

  it('still rejects a climb when the rules allow git', () => {
    expect(checkRelativePath('.git/../../x', { allowGit: true })).toMatchObject({
      ok: false,
      code: 'dot-segment',
    });
  });
});

describe('collisionKey', () => {
  const colliding: [name: string, a: string, b: string][] = [
    ['names differing in case', 'README.md', 'readme.md'],
    ['folders differing in case', 'Src/App.ts', 'src/app.ts'],
    ["NFC and NFD 'é'", 'caf\u00e9.md', 'cafe\u0301.md'],
    ["upper-case NFD 'É' and lower-case NFC 'é'", 'E\u0301t\u00e9', '\u00e9te\u0301'],
  ];
  for (const [name, a, b] of colliding) {
    it(`is equal for ${name}`, () => {
      expect(collisionKey(a)).toBe(collisionKey(b));
    });
  }

  const distinct: [name: string, a: string, b: string][] = [
    ['different names', 'a.md', 'b.md'],
    ["'e' and 'é'", 'cafe.md', 'café.md'],
    ['the same name in different folders', 'a/x', 'b/x'],
  ];
  for (const [name, a, b] of distinct) {
    it(`differs for ${name}`, () => {
      expect(collisionKey(a)).not.toBe(collisionKey(b));
    });
  }
});

describe('parentPath', () => {
  const cases: [path: string, parent: string][] = [
    ['a', ''],
    ['a/b', 'a'],
    ['a/b/c.txt', 'a/b'],
  ];
  for (const [path, parent] of cases) {
    it(`is '${parent}' for '${path}'`, () => {
      expect(parentPath(path)).toBe(parent);
    });
  }
});

describe('ancestorPaths', () => {
  const cases: [path: string, ancestors: string[]][] = [
    ['a', []],
    ['a/b', ['a']],
    ['a/b/c', ['a', 'a/b']],
    ['x/y/z/w.txt', ['x', 'x/y', 'x/y/z']],
  ];
  for (const [path, ancestors] of cases) {
    it(`lists ${JSON.stringify(ancestors)} for '${path}', shallowest first`, () => {
      expect(ancestorPaths(path)).toEqual(ancestors);
    });
  }
});

describe('pathDepth', () => {
  const cases: [path: string, depth: number][] = [
    ['a', 1],
    ['a/b', 2],
    ['a/b/c', 3],
    ['.hidden/x/y/z', 4],
  ];
  for (const [path, depth] of cases) {
    it(`is ${depth} for '${path}'`, () => {
      expect(pathDepth(path)).toBe(depth);
    });
  }

  it('is one more than the number of ancestors', () => {
    for (const path of ['a', 'a/b', 'a/b/c/d/e'])
      expect(pathDepth(path)).toBe(ancestorPaths(path).length + 1);
  });
});
