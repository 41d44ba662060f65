import { describe, expect, it } from 'bun:test';
import { binLinks, isPackagePath, normaliseBin, readPackageLock } from '../../src/prewarm/package-lock.ts';

const SRI = `sha512-${'A'.repeat(86)}==`;

describe('readPackageLock', () => {
  it('lists every package but the root, with its sha512, flags and bins', () => {
    const read = readPackageLock(
      JSON.stringify({
        lockfileVersion: 3,
        packages: {
          '': { name: 'app' },
          'node_modules/a': {
            integrity: `sha1-abc ${SRI}`,
            bin: { a: './bin/a.js' },
            hasInstallScript: true,
          },
          'node_modules/@s/b': { integrity: SRI, optional: true },
          'node_modules/a/node_modules/c': { inBundle: true },
        },
      }),
    );
    expect(read).toEqual({
      ok: true,
      packages: [
        {
          path: 'node_modules/a',
          sha512: SRI,
          optional: false,
          inBundle: false,
          link: false,
          hasInstallScript: true,
          bin: { a: 'bin/a.js' },
        },
        {
          path: 'node_modules/@s/b',
          sha512: SRI,
          optional: true,
          inBundle: false,
          link: false,
          hasInstallScript: false,
          bin: {},
        },
        {
          path: 'node_modules/a/node_modules/c',
          sha512: undefined,
          optional: false,
          inBundle: true,
          link: false,
          hasInstallScript: false,
          bin: {},
        },
      ],
    });
  });

  it.each([
    ['not JSON', '{', 'not JSON'],
    ['a version 1 lockfile', JSON.stringify({ lockfileVersion: 1, dependencies: {} }), 'packages'],
    [
      'a workspace member',
      JSON.stringify({ lockfileVersion: 3, packages: { 'packages/x': {} } }),
      'npm workspaces',
    ],
    [
      'a path out of node_modules',
      JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/../x': {} } }),
      'places a package',
    ],
  ])('refuses %s', (_what, text, reason) => {
    const read = readPackageLock(text);
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.reason).toContain(reason);
  });

  it('gives no sha512 for a sha1-only or malformed integrity', () => {
    const read = readPackageLock(
      JSON.stringify({
        lockfileVersion: 2,
        packages: {
          'node_modules/a': { integrity: 'sha1-abc' },
          'node_modules/b': { integrity: 'sha512-short' },
        },
      }),
    );
    expect(read.ok && read.packages.map((p) => p.sha512)).toEqual([undefined, undefined]);
  });
});

describe('isPackagePath', () => {
  it.each([
    ['node_modules/a', true],
    ['node_modules/@s/a', true],
    ['node_modules/a/node_modules/@s/b', true],
    ['node_modules/.bin', false],
    ['node_modules/a/b', false],
    ['node_modules/@s', false],
    ['node_modules/..', false],
    ['x/node_modules/a', false],
    ['node_modules/a/node_modules/../../x', false],
  ])('%s: %p', (path, expected) => {
    expect(isPackagePath(path)).toBe(expected);
  });
});

describe('normaliseBin', () => {
  it('works as npm-normalize-package-bin: strings, arrays, folders and .. removed', () => {
    expect(normaliseBin('cli.js', '@s/tool')).toEqual({ tool: 'cli.js' });
    expect(normaliseBin(['bin/a', 'bin/b.js'], 'x')).toEqual({ a: 'bin/a', 'b.js': 'bin/b.js' });
    expect(normaliseBin({ '../evil': '../../outside', 'x:y': 'ok', z: 7 }, 'x')).toEqual({
      evil: 'outside',
      y: 'ok',
    });
  });
});

describe('binLinks', () => {
  const pkg = (path: string, bin: Record<string, string>) => ({
    path,
    sha512: SRI,
    optional: false,
    inBundle: false,
    link: false,
    hasInstallScript: false,
    bin,
  });

  it('links each executable from the .bin folder of the node_modules that holds the package', () => {
    const packages = [
      pkg('node_modules/a', { a: 'cli.js' }),
      pkg('node_modules/@s/b', { b: 'bin/b' }),
      pkg('node_modules/a/node_modules/c', { c: 'c.js' }),
    ];
    const installed = new Set(packages.map((p) => p.path));
    expect(binLinks(packages, installed, () => true)).toEqual([
      { path: 'node_modules/.bin/a', target: '../a/cli.js', file: 'node_modules/a/cli.js' },
      { path: 'node_modules/.bin/b', target: '../@s/b/bin/b', file: 'node_modules/@s/b/bin/b' },
      {
        path: 'node_modules/a/node_modules/.bin/c',
        target: '../c/c.js',
        file: 'node_modules/a/node_modules/c/c.js',
      },
    ]);
  });

  it('keeps the first claim to a name, and skips packages not installed and files not there', () => {
    const packages = [
      pkg('node_modules/x', { tool: 'x.js' }),
      pkg('node_modules/y', { tool: 'y.js' }),
      pkg('node_modules/z', { zed: 'missing.js' }),
      pkg('node_modules/w', { w: 'w.js' }),
    ];
    const installed = new Set(['node_modules/x', 'node_modules/y', 'node_modules/z']);
    const links = binLinks(packages, installed, (path) => !path.endsWith('missing.js'));
    expect(links.map((l) => l.file)).toEqual(['node_modules/x/x.js']);
  });
});
