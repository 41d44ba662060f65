/**
 * Whether a snapshot's package list is the one the lockfile asks for, before a byte of it is
 * fetched. Pure. The bytes are checked later, tarball by tarball, against the same sha512 values
 * (snapshot-restore.ts); this check makes sure there is nothing else to write.
 *
 * The lockfile is the reference: whoever can replace a snapshot on the hub must not be able to
 * add a package, drop one that npm would install, or pass off other bytes under a package's name.
 */
import type { LockedPackage } from './package-lock.ts';

/** What the check reads of a snapshot manifest: each package's place and claimed integrity. */
export interface ListedPackages {
  packages: ReadonlyArray<{ path: string; integrity: string }>;
}

export type SnapshotCheck =
  | { ok: true }
  /** `unsupported`: the lockfile itself cannot vouch for every package (no sha512, workspaces). */
  | { ok: false; code: 'unsupported' | 'mismatch'; problems: string[] };

/**
 * Why `packages` (a lockfile's) cannot vouch for a snapshot, or an empty list. Every package
 * with its own tarball needs a sha512; a linked folder (npm workspaces) has no tarball at all.
 */
export function unverifiablePackages(packages: readonly LockedPackage[]): string[] {
  const problems: string[] = [];
  for (const pkg of packages) {
    if (pkg.link) problems.push(`${pkg.path} is a linked folder, which no snapshot holds`);
    else if (!pkg.inBundle && !pkg.sha512)
      problems.push(`${pkg.path} has no sha512 integrity in the lockfile (a git, file or URL dependency?)`);
  }
  return problems;
}

/**
 * Compares the manifest's packages with the lockfile's: every package listed must be one the
 * lockfile gives a tarball of, with the same sha512; every package the lockfile requires must be
 * listed. Only `optional` packages may be absent, as npm leaves those out where they do not apply.
 *
 * @example
 * checkSnapshotPackages(manifest, lock.packages);
 * // { ok: false, code: 'mismatch', problems: ['node_modules/x is not in the lockfile'] }
 */
export function checkSnapshotPackages(
  manifest: ListedPackages,
  packages: readonly LockedPackage[],
): SnapshotCheck {
  const unverifiable = unverifiablePackages(packages);
  if (unverifiable.length > 0) return { ok: false, code: 'unsupported', problems: unverifiable };
  const locked = new Map(packages.map((pkg) => [pkg.path, pkg]));
  const listed = new Set<string>();
  const problems: string[] = [];
  for (const pkg of manifest.packages) {
    listed.add(pkg.path);
    const lock = locked.get(pkg.path);
    if (!lock) problems.push(`${pkg.path} is not in the lockfile`);
    else if (lock.inBundle)
      problems.push(`${pkg.path} is bundled in its parent's tarball, not a tarball of its own`);
    else if (lock.sha512 !== pkg.integrity)
      problems.push(`${pkg.path} names another integrity than the lockfile`);
  }
  for (const pkg of packages)
    if (!pkg.inBundle && !pkg.optional && !listed.has(pkg.path))
      problems.push(`${pkg.path} is in the lockfile but not in the snapshot`);
  return problems.length === 0 ? { ok: true } : { ok: false, code: 'mismatch', problems };
}
