import { describe, expect, it } from 'bun:test';
import { isRuntimeBuiltin, npmPackageOf } from '../../src/prewarm/npm-specifier.ts';

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
