/**
 * The manifest of a dependency snapshot: for one lockfile, the tarball of every package npm ci
 * placed in node_modules, each as the chunks that hold its bytes and the sha512 the lockfile gives
 * it. Pure data and its schema; the hub validates uploads with it and the restorer downloads.
 *
 * A snapshot holds registry tarballs and nothing else: no files an install script made, no links
 * (the restorer makes the `.bin` links the lockfile implies). So every byte a restore writes can be
 * checked against the lockfile, whoever uploaded the snapshot.
 *
 * Invariants a parsed manifest guarantees (the restorer relies on each):
 * - every package path is a place npm puts packages (`node_modules/a/node_modules/@s/b`), so it
 *   never leaves node_modules;
 * - no package is listed twice;
 * - a tarball's chunk sizes add up to its size.
 */
import { z } from 'zod';
import { isPackagePath } from './package-lock.ts';

export const SNAPSHOT_FORMAT = 2;
/** More packages than any real lockfile holds; a bound on what one upload may ask the hub to keep. */
const MAX_SNAPSHOT_PACKAGES = 200_000;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');

export const snapshotPackageSchema = z.object({
  path: z.string().refine(isPackagePath, 'must be a package folder under node_modules'),
  /** The sha512 the uploader read from the lockfile; the restorer checks it and the bytes. */
  integrity: z.string().regex(/^sha512-[A-Za-z0-9+/]{86}==$/, 'must be a sha512 SRI'),
  size: z.number().int().nonnegative(),
  chunks: z.array(z.tuple([sha256, z.number().int().positive()])),
});
export type SnapshotPackage = z.infer<typeof snapshotPackageSchema>;

export const snapshotManifestSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT),
    /** Hex SHA-256 of the lockfile's bytes. */
    lockHash: sha256,
    /**
     * Where npm ran (`linux-x64-glibc`, `darwin-arm64`): it picks optional dependencies by OS, CPU
     * and C library, so another platform's snapshot lists other packages.
     */
    platform: z.string().min(1).max(64),
    packages: z.array(snapshotPackageSchema).max(MAX_SNAPSHOT_PACKAGES),
  })
  .superRefine((manifest, ctx) => {
    const seen = new Set<string>();
    for (const [index, pkg] of manifest.packages.entries()) {
      const problem = seen.has(pkg.path)
        ? `${pkg.path} is listed twice`
        : pkg.chunks.reduce((sum, [, size]) => sum + size, 0) !== pkg.size
          ? `${pkg.path}: chunk sizes do not add up to the tarball size`
          : undefined;
      if (problem) {
        ctx.addIssue({ code: 'custom', path: ['packages', index], message: problem });
        return;
      }
      seen.add(pkg.path);
    }
  });
export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;

/** This runtime's platform as installPlatform names it, for when no `node` is on the PATH. */
export function currentPlatform(): string {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return `${base}-${report?.header?.glibcVersionRuntime ? 'glibc' : 'musl'}`;
}

/** Every distinct chunk a manifest names, in first-use order. */
export function snapshotChunks(manifest: Pick<SnapshotManifest, 'packages'>): string[] {
  const seen = new Set<string>();
  for (const pkg of manifest.packages) for (const [hash] of pkg.chunks) seen.add(hash);
  return [...seen];
}
