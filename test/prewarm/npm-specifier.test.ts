import { describe, expect, it } from 'bun:test';
import { isRegistryRange, isRuntimeBuiltin, npmPackageOf } from '../../src/prewarm/npm-specifier.ts';

describe('npmPackageOf', () => {
  const cases: Array<[string, string | undefined]> = [
    ['lodash', 'lodash'],
    ['lodash/fp', 'lodash'],
    ['lodash/fp/map.js', 'lodash'],
    ['@scope/pkg', '@scope/pkg'],
    ['@scope/pkg/sub/path', '@scope/pkg'],
    ['JSONStream', 'JSONStream'],
    ['./local', undefined],
    ['../up/file.ts', undefined],
    ['/abs/path.js', undefined],
    ['node:fs', undefined],
    ['fs', undefined],
    ['fs/promises', undefined],
    ['path/posix', undefined],
    ['bun', undefined],
    ['bun:sqlite', undefined],
    ['#internal/thing', undefined],
    ['https://esm.sh/react', undefined],
    ['file:///tmp/x.js', undefined],
    ['@/components/Button', undefined],
    ['~/utils', undefined],
    ['@scope', undefined],
    ['', undefined],
  ];
  for (const [specifier, expected] of cases) {
    it(`maps '${specifier}' to ${expected === undefined ? 'nothing' : `'${expected}'`}`, () => {
      expect(npmPackageOf(specifier)).toBe(expected);
    });
  }

  it('treats ws and undici as packages on every runtime, even where Bun lists them as built-in', () => {
    expect(npmPackageOf('ws')).toBe('ws');
    expect(npmPackageOf('undici')).toBe('undici');
  });
});

describe('isRuntimeBuiltin', () => {
  it('recognises Node core modules with and without the node: prefix', () => {
    expect(isRuntimeBuiltin('crypto')).toBe(true);
    expect(isRuntimeBuiltin('node:test')).toBe(true);
    expect(isRuntimeBuiltin('react')).toBe(false);
  });
});

describe('isRegistryRange', () => {
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['1.2.3', true],
    ['^4.1.0', true],
    ['~1.2 || >=2.0.0 <3.0.0-beta.1', true],
    ['1.x', true],
    ['*', true],
    ['latest', true],
    ['next_tag', true],
    ['github:user/repo', false],
    ['user/repo#semver:^1', false],
    ['git+https://example.com/r.git', false],
    ['git+ssh://git@example.com:r.git', false],
    ['https://example.com/p.tgz', false],
    ['file:../p', false],
    ['../p', false],
    ['.', false],
    ['~/p', false],
    ['npm:other@1', false],
    ['workspace:*', false],
  ];
  for (const [range, expected] of cases) {
    it(`${expected ? 'accepts' : 'refuses'} '${range}'`, () => {
      expect(isRegistryRange(range)).toBe(expected);
    });
  }
});
