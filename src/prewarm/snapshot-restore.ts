/**
 * Restoring `DIR/node_modules` from the hub's snapshot of `DIR/package-lock.json`.
 *
 * Invariants:
 * - the lockfile is the reference, the hub is not trusted: before anything is fetched the
 *   snapshot must list exactly the packages the lockfile has npm place (snapshot-check.ts), and
 *   each tarball's bytes must match the lockfile's sha512 before a byte of it is unpacked; any
 *   mismatch refuses the whole snapshot;
 * - `DIR/node_modules` is only ever created by one `rename` of a fully written staging folder, so
 *   a reader, a crash or a failure sees no `node_modules` or a complete one, never half of one;
 * - the staging folder lives in DIR (same filesystem, so the rename is atomic) under the agent's
 *   temporary-name prefix, so the agent never syncs it; it is removed on every failure;
 * - every chunk is checked against its SHA-256 as it arrives (openFrame).
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type ChunkFrame, FrameError, openFrame } from '../core/frames.ts';
import { TEMP_FILE_PREFIX } from '../core/paths.ts';
import { describeZodError } from '../core/protocol.ts';
import { installPlatform, readLockfile } from './npm-install.ts';
import { type LockedPackage, readPackageLock } from './package-lock.ts';
import { checkSnapshotPackages } from './snapshot-check.ts';
import { type SnapshotPackage, snapshotManifestSchema } from './snapshot-manifest.ts';
import { PackageTreeWriter } from './snapshot-write.ts';
import { TarballError } from './tarball.ts';

/** The part of HubClient a restore needs. */
export interface SnapshotRestoreClient {
  snapshot(lockHash: string): Promise<unknown>;
  fetchChunks(want: Array<{ hash: string }>): Promise<{ frames: ChunkFrame[]; missing: string[] }>;
}

/** Expected ways a restore ends without a `node_modules`; anything else is a bug or an I/O error. */
export class RestoreError extends Error {
  constructor(
    readonly code:
      | 'no-lockfile'
      | 'no-snapshot'
      | 'other-platform'
      /** The lockfile cannot vouch for a snapshot (no sha512 for a package, npm workspaces). */
      | 'unsupported'
      | 'bad-manifest'
      /** The snapshot does not match the lockfile: other packages, or other bytes. */
      | 'refused'
      | 'bad-chunk'
      | 'missing-chunk'
      | 'exists',
    message: string,
  ) {
    super(message);
    this.name = 'RestoreError';
  }
}

export interface RestoreReport {
  lockHash: string;
  packages: number;
  files: number;
  bytes: number;
  chunksFetched: number;
  durationMs: number;
}

export interface RestoreSnapshotOptions {
  /** This machine's platform (installPlatform's form); default: asked of the `node` on the PATH. */
  platform?: string;
  /**
   * Runs on the finished staging project (a folder with package.json, package-lock.json and the
   * restored node_modules) before the rename: install scripts, when the user allows them.
   */
  beforeRename?: (stagingProject: string, packages: readonly LockedPackage[]) => Promise<void>;
}

/** Raw chunk bytes asked for per fetch; the hub answers up to 16 MiB per reply. */
const BATCH_BYTES = 8 * 1024 * 1024;
const FIRST_BATCH_BYTES = 1024 * 1024;
/** Hashes per fetch request (the hub takes up to 10,000). */
const BATCH_CHUNKS = 5_000;
/** Batches being fetched while one is written. */
const FETCHES_AHEAD = 2;
/** Problems named in a refusal; the rest are counted. */
const PROBLEMS_NAMED = 3;

/**
 * Packages grouped so that each group's not-yet-fetched chunks add up to about BATCH_BYTES. The
 * first batches are smaller (1, 2, 4 MiB...) so that writing starts while the hub is still
 * framing the big ones.
 */
function planBatches(
  packages: readonly SnapshotPackage[],
): Array<{ packages: SnapshotPackage[]; chunks: string[] }> {
  const batches: Array<{ packages: SnapshotPackage[]; chunks: string[] }> = [];
  const assigned = new Set<string>();
  let current = { packages: [] as SnapshotPackage[], chunks: [] as string[] };
  let bytes = 0;
  for (const pkg of packages) {
    current.packages.push(pkg);
    for (const [hash, size] of pkg.chunks) {
      if (assigned.has(hash)) continue;
      assigned.add(hash);
      current.chunks.push(hash);
      bytes += size;
    }
    const target = Math.min(BATCH_BYTES, FIRST_BATCH_BYTES * 2 ** batches.length);
    if (bytes >= target || current.chunks.length >= BATCH_CHUNKS) {
      batches.push(current);
      current = { packages: [], chunks: [] };
      bytes = 0;
    }
  }
  if (current.packages.length > 0) batches.push(current);
  return batches;
}

/** Fetches and verifies `hashes`, asking again for what a size-capped reply left out. */
async function fetchVerified(
  client: SnapshotRestoreClient,
  hashes: readonly string[],
): Promise<Map<string, Uint8Array>> {
  const got = new Map<string, Uint8Array>();
  let wanted = [...hashes];
  while (wanted.length > 0) {
    const reply = await client.fetchChunks(wanted.map((hash) => ({ hash })));
    if (reply.missing.length > 0)
      throw new RestoreError(
        'missing-chunk',
        `the hub lacks chunk ${reply.missing[0]?.slice(0, 12)} of the snapshot`,
      );
    if (reply.frames.length === 0) throw new RestoreError('missing-chunk', 'the hub sent no chunks');
    for (const frame of reply.frames) {
      try {
        got.set(
          frame.hash,
          openFrame(frame, () => undefined),
        );
      } catch (error) {
        if (error instanceof FrameError)
          throw new RestoreError(
            'bad-chunk',
            `chunk ${frame.hash.slice(0, 12)} from the hub is damaged: ${error.message}`,
          );
        throw error;
      }
    }
    wanted = wanted.filter((hash) => !got.has(hash));
  }
  return got;
}

function describeProblems(problems: readonly string[]): string {
  const more = problems.length > PROBLEMS_NAMED ? `, and ${problems.length - PROBLEMS_NAMED} more` : '';
  return `${problems.slice(0, PROBLEMS_NAMED).join('; ')}${more}`;
}

/** The sha512 SRI of `bytes`, as lockfiles write it. */
function sha512Sri(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/**
 * Restores the hub's snapshot of `dir/package-lock.json` into `dir/node_modules`, which must not
 * exist. Throws RestoreError for expected failures (no snapshot, other platform, a snapshot that
 * does not match the lockfile, damaged or missing chunk, `node_modules` appeared meanwhile),
 * always after removing its staging folder.
 *
 * @example
 * await restoreSnapshot(client, '/workspaces/web');
 */
export async function restoreSnapshot(
  client: SnapshotRestoreClient,
  dir: string,
  options: RestoreSnapshotOptions = {},
): Promise<RestoreReport> {
  const started = performance.now();
  // Read once: the bytes hashed are the bytes checked against.
  const lockfile = readLockfile(dir);
  if (!lockfile) throw new RestoreError('no-lockfile', `${dir} has no package-lock.json`);
  const lockHash = lockfile.hash;
  const raw = await client.snapshot(lockHash);
  if (raw === undefined)
    throw new RestoreError('no-snapshot', `the hub has no snapshot for lockfile ${lockHash.slice(0, 12)}`);
  const parsed = snapshotManifestSchema.safeParse(raw);
  if (!parsed.success)
    throw new RestoreError(
      'bad-manifest',
      `the snapshot manifest is malformed: ${describeZodError(parsed.error)}`,
    );
  const manifest = parsed.data;
  if (manifest.lockHash !== lockHash)
    throw new RestoreError('bad-manifest', 'the snapshot manifest names another lockfile');
  const here = options.platform ?? installPlatform();
  if (manifest.platform !== here)
    throw new RestoreError(
      'other-platform',
      `the snapshot was installed on ${manifest.platform}, this is ${here}`,
    );
  const lock = readPackageLock(lockfile.bytes.toString('utf8'));
  if (!lock.ok) throw new RestoreError('unsupported', lock.reason);
  const check = checkSnapshotPackages(manifest, lock.packages);
  if (!check.ok)
    throw new RestoreError(
      check.code === 'unsupported' ? 'unsupported' : 'refused',
      check.code === 'unsupported'
        ? `the lockfile cannot vouch for a snapshot: ${describeProblems(check.problems)}`
        : `snapshot ${lockHash.slice(0, 12)} does not match the lockfile: ${describeProblems(check.problems)}`,
    );

  const staging = join(dir, `${TEMP_FILE_PREFIX}restore-${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(join(staging, 'node_modules'), { recursive: true });
    const writer = new PackageTreeWriter(staging);
    const chunksFetched = await writePackages(client, writer, manifest.packages);
    await writer.linkBins(lock.packages);
    if (options.beforeRename) {
      for (const name of ['package.json', 'package-lock.json'])
        copyFileSync(join(dir, name), join(staging, name));
      await options.beforeRename(staging, lock.packages);
    }
    try {
      renameSync(join(staging, 'node_modules'), join(dir, 'node_modules'));
    } catch (error) {
      throw new RestoreError(
        'exists',
        `node_modules appeared while restoring; left as it is (${(error as Error).message})`,
      );
    }
    return {
      lockHash,
      packages: manifest.packages.length,
      files: writer.files,
      bytes: writer.bytes,
      chunksFetched,
      durationMs: performance.now() - started,
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Fetches every tarball, checks it against its sha512 and unpacks it; returns the chunks fetched. */
async function writePackages(
  client: SnapshotRestoreClient,
  writer: PackageTreeWriter,
  packages: readonly SnapshotPackage[],
): Promise<number> {
  // Chunks used by more than one tarball stay in memory until their last use.
  const uses = new Map<string, number>();
  for (const pkg of packages) for (const [hash] of pkg.chunks) uses.set(hash, (uses.get(hash) ?? 0) + 1);
  const shared = new Map<string, Uint8Array>();
  const batches = planBatches(packages);
  let chunksFetched = 0;
  // Fetches run ahead of the writes: the hub reads and frames the next batches meanwhile.
  const inFlight: Array<Promise<Map<string, Uint8Array>>> = [];
  let requested = 0;
  const requestMore = () => {
    while (requested < batches.length && inFlight.length < FETCHES_AHEAD) {
      const fetching = fetchVerified(client, batches[requested++]!.chunks);
      fetching.catch(() => {}); // thrown when awaited, or dropped with the staging folder
      inFlight.push(fetching);
    }
  };
  for (const batch of batches) {
    requestMore();
    const got = await inFlight.shift()!;
    requestMore();
    chunksFetched += got.size;
    for (const pkg of batch.packages) {
      const parts = pkg.chunks.map(([hash]) => {
        const data = got.get(hash) ?? shared.get(hash);
        if (!data) throw new Error(`bug: chunk ${hash.slice(0, 12)} planned but not fetched`);
        const left = (uses.get(hash) ?? 1) - 1;
        uses.set(hash, left);
        if (left > 0) shared.set(hash, data);
        else shared.delete(hash);
        return data;
      });
      const tgz = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      // The manifest's integrity equals the lockfile's (checked above); the bytes must too.
      if (sha512Sri(tgz) !== pkg.integrity)
        throw new RestoreError(
          'refused',
          `${pkg.path} in the snapshot does not match the lockfile's integrity`,
        );
      try {
        await writer.writePackage(pkg.path, tgz);
      } catch (error) {
        if (error instanceof TarballError) throw new RestoreError('refused', `${pkg.path}: ${error.message}`);
        throw error;
      }
    }
  }
  return chunksFetched;
}
