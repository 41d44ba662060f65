/**
 * The manifest of a dependency snapshot: every path of an installed `node_modules`, relative to
 * it, with its kind, permission bits, chunk list or link target. Pure data and its schema; the
 * hub validates uploads with it and the restorer validates downloads with it.
 *
 * Invariants a parsed manifest guarantees (the restorer relies on each):
 * - every path is relative, normalised and free of `..` (the sync path rules);
 * - no path appears twice, and every path's parent is listed before it as a folder, so nothing is
 *   ever written beneath a file or a link;
 * - a file's chunk sizes add up to its size.
 */
import { z } from 'zod';
import { checkRelativePath } from '../core/paths.ts';

export const SNAPSHOT_FORMAT = 1;
/** More paths than any real `node_modules` holds; a bound on what one upload may ask the hub to keep. */
const MAX_SNAPSHOT_PATHS = 2_000_000;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');
const snapshotPath = z.string().superRefine((value, ctx) => {
  const check = checkRelativePath(value, { allowGit: true });
  if (!check.ok) ctx.addIssue({ code: 'custom', message: `${value}: ${check.reason}` });
});
/**
 * Read, write and execute bits only: a set-user-ID bit from a manifest would hand the hub's
 * content the restoring user's rights.
 */
const permissionBits = z.number().int().min(0).max(0o777);

export const snapshotEntrySchema = z.discriminatedUnion('kind', [
  z.object({ path: snapshotPath, kind: z.literal('dir'), mode: permissionBits }),
  z.object({
    path: snapshotPath,
    kind: z.literal('file'),
    mode: permissionBits,
    size: z.number().int().nonnegative(),
    chunks: z.array(z.tuple([sha256, z.number().int().positive()])),
  }),
  z.object({
    path: snapshotPath,
    kind: z.literal('symlink'),
    target: z
      .string()
      .min(1)
      .max(4096)
      .refine((t) => !t.includes('\0'), 'link targets hold no NUL'),
  }),
]);
export type SnapshotEntry = z.infer<typeof snapshotEntrySchema>;

export const snapshotManifestSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT),
    /** Hex SHA-256 of the lockfile's bytes. */
    lockHash: sha256,
    /** `process.platform-process.arch` of the installing machine: native modules differ by it. */
    platform: z.string().min(1).max(64),
    /** The ABI (`process.versions.modules`) of the `node` that ran the install: native add-ons are built for it. */
    nodeAbi: z.string().max(16),
    entries: z.array(snapshotEntrySchema).max(MAX_SNAPSHOT_PATHS),
  })
  .superRefine((manifest, ctx) => {
    const kinds = new Map<string, SnapshotEntry['kind']>();
    for (const [index, entry] of manifest.entries.entries()) {
      const problem = entryProblem(entry, kinds);
      if (problem) {
        ctx.addIssue({ code: 'custom', path: ['entries', index], message: problem });
        return;
      }
      kinds.set(entry.path, entry.kind);
    }
  });
export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;

function entryProblem(
  entry: SnapshotEntry,
  seen: ReadonlyMap<string, SnapshotEntry['kind']>,
): string | undefined {
  if (seen.has(entry.path)) return `${entry.path} is listed twice`;
  const slash = entry.path.lastIndexOf('/');
  if (slash >= 0 && seen.get(entry.path.slice(0, slash)) !== 'dir')
    return `${entry.path}: its parent folder must be listed before it`;
  if (entry.kind === 'file' && entry.chunks.reduce((sum, [, size]) => sum + size, 0) !== entry.size)
    return `${entry.path}: chunk sizes do not add up to the file size`;
  return undefined;
}

/** This runtime's platform and Node ABI (what `installPlatform` falls back to without `node`). */
export function currentPlatform(): { platform: string; nodeAbi: string } {
  return { platform: `${process.platform}-${process.arch}`, nodeAbi: process.versions.modules ?? '' };
}

/** Every distinct chunk a manifest names, in first-use order. */
export function snapshotChunks(manifest: Pick<SnapshotManifest, 'entries'>): string[] {
  const seen = new Set<string>();
  for (const entry of manifest.entries)
    if (entry.kind === 'file') for (const [hash] of entry.chunks) seen.add(hash);
  return [...seen];
}
