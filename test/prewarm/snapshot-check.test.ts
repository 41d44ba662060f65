import { describe, expect, it } from 'bun:test';
import type { LockedPackage } from '../../src/prewarm/package-lock.ts';
import { checkSnapshotPackages } from '../../src/prewarm/snapshot-check.ts';

const sri = (c: string) => `sha512-${c.repeat(86)}==`;

function locked(path: string, extra: Partial<LockedPackage> = {}): LockedPackage {
  return {
    path,
    sha512: sri('A'),
    optional: false,
    inBundle: false,
    link: false,
    hasInstallScript: false,
    bin: {},
    ...extra,
  };
}
type Listed = { path: string; integrity: string };
function listed(path: string, integrity = sri('A')): Listed {
  return { path, integrity };
}

const lock = [
  locked('node_modules/a'),
  locked('node_modules/b', { sha512: sri('B') }),
  locked('node_modules/opt', { optional: true, sha512: sri('C') }),
  locked('node_modules/b/node_modules/bundled', { inBundle: true, sha512: undefined }),
];
const good = [listed('node_modules/a'), listed('node_modules/b', sri('B'))];

describe('checkSnapshotPackages', () => {
  const cases: Array<[string, Listed[], LockedPackage[], string | undefined]> = [
    ['exactly the required packages', good, lock, undefined],
    ['an optional package too', [...good, listed('node_modules/opt', sri('C'))], lock, undefined],
    [
      'a package the lockfile lacks',
      [...good, listed('node_modules/x')],
      lock,
      'node_modules/x is not in the lockfile',
    ],
    [
      'a required package left out',
      [listed('node_modules/a')],
      lock,
      'node_modules/b is in the lockfile but not in the snapshot',
    ],
    [
      'another integrity',
      [listed('node_modules/a'), listed('node_modules/b')],
      lock,
      'node_modules/b names another integrity',
    ],
    [
      'a bundled package as a tarball of its own',
      [...good, listed('node_modules/b/node_modules/bundled')],
      lock,
      'bundled in its parent',
    ],
    [
      'a lockfile package without sha512',
      good,
      [...lock, locked('node_modules/g', { sha512: undefined })],
      'no sha512',
    ],
    [
      'a linked folder in the lockfile',
      good,
      [...lock, locked('node_modules/w', { link: true })],
      'linked folder',
    ],
  ];
  for (const [what, packages, lockPackages, problem] of cases) {
    it(`${problem ? 'refuses' : 'accepts'} a snapshot with ${what}`, () => {
      const check = checkSnapshotPackages({ packages }, lockPackages);
      if (problem === undefined) expect(check).toEqual({ ok: true });
      else expect(check.ok ? [] : check.problems.join('\n')).toContain(problem);
    });
  }

  it('calls a lockfile that cannot vouch for its packages unsupported, not a mismatch', () => {
    const check = checkSnapshotPackages({ packages: good }, [
      ...lock,
      locked('node_modules/g', { sha512: undefined }),
    ]);
    expect(check.ok ? undefined : check.code).toBe('unsupported');
  });
});
