/**
 * Restoring `DIR/node_modules` from the hub's snapshot of `DIR/package-lock.json`.
 *
 * Invariants:
 * - `DIR/node_modules` is only ever created by one `rename` of a fully written staging folder, so
 *   a reader, a crash or a failure sees no `node_modules` or a complete one, never half of one;
 * - the staging folder lives in DIR (same filesystem, so the rename is atomic) under the agent's
 *   temporary-name prefix, so the agent never syncs it; it is removed on every failure;
 * - every chunk is checked against its SHA-256 before a byte of it is written;
 * - nothing is written through a link: the manifest lists parents before children (its schema
 *   checks it) and links are made last, after every file.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChunkFrame, FrameError, openFrame } from '../core/frames.ts';
import { TEMP_FILE_PREFIX } from '../core/paths.ts';
import { describeZodError } from '../core/protocol.ts';
import { installPlatform } from './npm-install.ts';
import { type SnapshotEntry, snapshotManifestSchema } from './snapshot-manifest.ts';

/** The part of HubClient a restore needs. */
export interface SnapshotRestoreClient {
  snapshot(lockHash: string): Promise<unknown>;
  fetchChunks(want: Array<{ hash: string }>): Promise<{ frames: ChunkFrame[]; missing: string[] }>;
}

/** Expected ways a restore ends without a `node_modules`; anything else is a bug or an I/O error. */
export class RestoreError extends Error {
  constructor(
    readonly code:
      | 'no-snapshot'
      | 'other-platform'
      | 'bad-manifest'
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
  files: number;
  bytes: number;
  chunksFetched: number;
  durationMs: number;
}

/** Raw chunk bytes asked for per fetch; the hub answers up to 16 MiB per reply. */
const BATCH_BYTES = 8 * 1024 * 1024;
const FIRST_BATCH_BYTES = 1024 * 1024;
/** Hashes per fetch request (the hub takes up to 10,000). */
const BATCH_CHUNKS = 5_000;
/** Batches being fetched while one is written. */
const FETCHES_AHEAD = 2;
/**
 * File operations in flight. Creating files is mostly kernel time; a few at once keep both the
 * disk queue and the cores busy, where one at a time leaves them idle between calls.
 */
const WRITES_IN_FLIGHT = 6;

/** Runs `work` on every item, at most `limit` at once. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

type FileEntry = Extract<SnapshotEntry, { kind: 'file' }>;

/**
 * Files grouped so that each group's not-yet-fetched chunks add up to about BATCH_BYTES. The
 * first batches are smaller (1, 2, 4 MiB...) so that writing starts while the hub is still
 * framing the big ones.
 */
function planBatches(files: readonly FileEntry[]): Array<{ files: FileEntry[]; chunks: string[] }> {
  const batches: Array<{ files: FileEntry[]; chunks: string[] }> = [];
  const assigned = new Set<string>();
  let current = { files: [] as FileEntry[], chunks: [] as string[] };
  let bytes = 0;
  for (const file of files) {
    current.files.push(file);
    for (const [hash, size] of file.chunks) {
      if (assigned.has(hash)) continue;
      assigned.add(hash);
      current.chunks.push(hash);
      bytes += size;
    }
    const target = Math.min(BATCH_BYTES, FIRST_BATCH_BYTES * 2 ** batches.length);
    if (bytes >= target || current.chunks.length >= BATCH_CHUNKS) {
      batches.push(current);
      current = { files: [], chunks: [] };
      bytes = 0;
    }
  }
  if (current.files.length > 0) batches.push(current);
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

/**
 * Restores the snapshot of `lockHash` into `dir/node_modules`, which must not exist. Throws
 * RestoreError for expected failures (no snapshot, other platform, damaged or missing chunk,
 * `node_modules` appeared meanwhile), always after removing its staging folder.
 *
 * @example
 * await restoreSnapshot(client, '/workspaces/web', lockHash);
 */
export async function restoreSnapshot(
  client: SnapshotRestoreClient,
  dir: string,
  lockHash: string,
  here: { platform: string; nodeAbi: string } = installPlatform(),
): Promise<RestoreReport> {
  const started = performance.now();
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
  if (manifest.platform !== here.platform || manifest.nodeAbi !== here.nodeAbi)
    throw new RestoreError(
      'other-platform',
      `the snapshot was installed on ${manifest.platform} (node ABI ${manifest.nodeAbi}), this is ${here.platform} (ABI ${here.nodeAbi})`,
    );

  const staging = join(dir, `${TEMP_FILE_PREFIX}node_modules-${randomBytes(6).toString('hex')}`);
  try {
    const { files, bytes, chunksFetched } = await writeTree(client, staging, manifest.entries);
    try {
      renameSync(staging, join(dir, 'node_modules'));
    } catch (error) {
      throw new RestoreError(
        'exists',
        `node_modules appeared while restoring; left as it is (${(error as Error).message})`,
      );
    }
    return { files, bytes, chunksFetched, durationMs: performance.now() - started };
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

async function writeTree(
  client: SnapshotRestoreClient,
  staging: string,
  entries: readonly SnapshotEntry[],
): Promise<{ files: number; bytes: number; chunksFetched: number }> {
  mkdirSync(staging);
  const umask = process.umask();
  const defaultFileMode = 0o666 & ~umask;
  const dirs = entries.filter((e) => e.kind === 'dir');
  const files = entries.filter((e): e is FileEntry => e.kind === 'file');
  // Folders level by level (a parent always exists before its children), each level in parallel.
  const levels: Array<typeof dirs> = [];
  for (const dir of dirs) {
    const depth = dir.path.split('/').length - 1;
    const level = levels[depth] ?? [];
    level.push(dir);
    levels[depth] = level;
  }
  for (const level of levels)
    if (level) await eachLimited(level, WRITES_IN_FLIGHT, (dir) => mkdir(join(staging, dir.path)));

  // Chunks used by more than one file stay in memory until their last use.
  const uses = new Map<string, number>();
  for (const file of files) for (const [hash] of file.chunks) uses.set(hash, (uses.get(hash) ?? 0) + 1);
  const shared = new Map<string, Uint8Array>();
  const batches = planBatches(files);
  let chunksFetched = 0;
  let bytes = 0;
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
    // Chunks are claimed in file order before any write starts, so sharing stays exact.
    const writes = batch.files.map((file) => {
      const parts = file.chunks.map(([hash]) => {
        const data = got.get(hash) ?? shared.get(hash);
        if (!data) throw new Error(`bug: chunk ${hash.slice(0, 12)} planned but not fetched`);
        const left = (uses.get(hash) ?? 1) - 1;
        uses.set(hash, left);
        if (left > 0) shared.set(hash, data);
        else shared.delete(hash);
        return data;
      });
      return { file, content: parts.length === 1 ? parts[0]! : Buffer.concat(parts) };
    });
    await eachLimited(writes, WRITES_IN_FLIGHT, async ({ file, content }) => {
      const target = join(staging, file.path);
      // New files get 0o666 minus the umask; only other modes (executables) need a chmod, which
      // is cheaper than passing the mode to every write.
      await writeFile(target, content);
      if (file.mode !== defaultFileMode) await chmod(target, file.mode);
      bytes += file.size;
    });
  }
  for (const entry of entries)
    if (entry.kind === 'symlink') symlinkSync(entry.target, join(staging, entry.path));
  // Folder modes last: a read-only folder must not stop its own content from being written.
  const defaultDirMode = 0o777 & ~umask;
  for (const dir of [...dirs].reverse())
    if (dir.mode !== defaultDirMode) chmodSync(join(staging, dir.path), dir.mode);
  return { files: files.length, bytes, chunksFetched };
}
