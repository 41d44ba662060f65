/**
 * Turning an `npm ci` into a snapshot at the hub: for every package the install placed, take its
 * tarball from the npm cache the install used (read by its lockfile sha512, which cacache checks),
 * cut it into content-defined chunks, upload only the chunks the hub lacks (as push envelopes with
 * no changes), then store the manifest. Because chunks are named by content, snapshots of
 * lockfiles that differ by one package share every chunk but that package's.
 *
 * Nothing an install script made is uploaded: a snapshot holds registry tarballs only, so that a
 * restore can check every byte against the lockfile.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chunkBytes } from '../core/chunk.ts';
import { type ChunkFrame, makeFrame } from '../core/frames.ts';
import { MAX_MISSING_HASHES } from '../core/limits.ts';
import { installPlatform } from './npm-install.ts';
import { type LockedPackage, readPackageLock } from './package-lock.ts';
import { unverifiablePackages } from './snapshot-check.ts';
import {
  SNAPSHOT_FORMAT,
  type SnapshotManifest,
  type SnapshotPackage,
  snapshotChunks,
} from './snapshot-manifest.ts';

/** The part of HubClient an upload needs. */
export interface SnapshotUploadClient {
  missing(hashes: string[]): Promise<string[]>;
  push(
    header: { agent: string; batch: 'edits'; changes: [] },
    frames: readonly ChunkFrame[],
  ): Promise<{ missingChunks: string[] }>;
  putSnapshot(lockHash: string, manifest: SnapshotManifest): Promise<void>;
}

export interface SnapshotUploadInput {
  /** The folder `npm ci` ran in: it holds the node_modules that says which packages were placed. */
  installRoot: string;
  /** The lockfile's text and the hex SHA-256 of its bytes. */
  lockfile: string;
  lockHash: string;
  /** The npm cache the install used (`--cache`): the tarballs are read from its `_cacache`. */
  npmCache: string;
  /** Where npm ran; default: installPlatform(). */
  platform?: string;
}

export interface SnapshotUploadReport {
  packages: number;
  bytes: number;
  chunks: number;
  chunksUploaded: number;
  bytesUploaded: number;
}

/** Why a lockfile's install cannot become a snapshot. */
export class SnapshotUploadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotUploadError';
  }
}

/** Raw bytes per push envelope: well under the hub's 64 MiB body limit once framed. */
const ENVELOPE_BYTES = 8 * 1024 * 1024;
/** Hashes per `/v1/chunks/missing` request: as many as the hub takes. */
const MISSING_BATCH = MAX_MISSING_HASHES;
/**
 * The agent id uploads are made under (agent-id syntax, as the hub asks); it names no real agent
 * and pushes no changes, so it never appears in a version vector.
 */
const UPLOADER = '00000000';

/** The packages of the lockfile that `npm ci` placed under `installRoot`, with a tarball each. */
function placedPackages(packages: readonly LockedPackage[], installRoot: string): LockedPackage[] {
  const problems = unverifiablePackages(packages);
  if (problems.length > 0)
    throw new SnapshotUploadError(`the lockfile cannot be snapshotted: ${problems[0]}`);
  const placed: LockedPackage[] = [];
  for (const pkg of packages) {
    if (pkg.inBundle) continue;
    if (existsSync(join(installRoot, pkg.path))) placed.push(pkg);
    else if (!pkg.optional) throw new SnapshotUploadError(`npm ci did not install ${pkg.path}`);
  }
  return placed;
}

/**
 * Uploads the snapshot of the install in `input.installRoot`: chunks the hub lacks first, then
 * the manifest (which the hub refuses while any chunk is missing). Throws SnapshotUploadError when
 * the lockfile cannot be snapshotted or a tarball is not in the cache, HubError when the hub
 * cannot be reached or refuses.
 *
 * @example
 * await uploadSnapshot(client, { installRoot: '/tmp/build', lockfile, lockHash, npmCache });
 */
export async function uploadSnapshot(
  client: SnapshotUploadClient,
  input: SnapshotUploadInput,
): Promise<SnapshotUploadReport> {
  const lock = readPackageLock(input.lockfile);
  if (!lock.ok) throw new SnapshotUploadError(lock.reason);
  const placed = placedPackages(lock.packages, input.installRoot);
  // Loaded here: a restore, which shares the command line, must start without it.
  const { default: cacache } = await import('cacache');
  const cache = join(input.npmCache, '_cacache');
  const tarball = async (pkg: LockedPackage): Promise<Buffer> => {
    try {
      return await cacache.get.byDigest(cache, pkg.sha512 ?? '');
    } catch (error) {
      throw new SnapshotUploadError(
        `the tarball of ${pkg.path} is not in the npm cache ${input.npmCache} (${(error as Error).message})`,
      );
    }
  };
  // Chunk every tarball once, remembering where each chunk is; read again only for what the hub lacks.
  const packages: SnapshotPackage[] = [];
  const sources = new Map<string, { pkg: LockedPackage; offset: number; size: number }>();
  for (const pkg of placed) {
    const bytes = await tarball(pkg);
    const chunks = chunkBytes(bytes);
    for (const chunk of chunks) if (!sources.has(chunk.hash)) sources.set(chunk.hash, { pkg, ...chunk });
    packages.push({
      path: pkg.path,
      integrity: pkg.sha512 ?? '',
      size: bytes.length,
      chunks: chunks.map((c) => [c.hash, c.size]),
    });
  }
  const manifest: SnapshotManifest = {
    format: SNAPSHOT_FORMAT,
    lockHash: input.lockHash,
    platform: input.platform ?? installPlatform(),
    packages,
  };
  const hashes = snapshotChunks(manifest);
  const missing: string[] = [];
  for (let i = 0; i < hashes.length; i += MISSING_BATCH)
    missing.push(...(await client.missing(hashes.slice(i, i + MISSING_BATCH))));
  let bytesUploaded = 0;
  let frames: ChunkFrame[] = [];
  let pending = 0;
  const send = async () => {
    if (frames.length === 0) return;
    const reply = await client.push({ agent: UPLOADER, batch: 'edits', changes: [] }, frames);
    if (reply.missingChunks.length > 0)
      throw new Error(`the hub refused ${reply.missingChunks.length} chunk(s) of the snapshot`);
    frames = [];
    pending = 0;
  };
  // Missing chunks come in first-use order, so consecutive chunks mostly share a tarball: read each once.
  let open: { pkg: LockedPackage | undefined; bytes: Uint8Array } = {
    pkg: undefined,
    bytes: new Uint8Array(),
  };
  for (const hash of missing) {
    const source = sources.get(hash);
    if (!source) throw new Error(`the hub asked for chunk ${hash.slice(0, 12)}, which the snapshot lacks`);
    if (source.pkg !== open.pkg) open = { pkg: source.pkg, bytes: await tarball(source.pkg) };
    frames.push(makeFrame(hash, open.bytes.subarray(source.offset, source.offset + source.size)));
    pending += source.size;
    bytesUploaded += source.size;
    if (pending >= ENVELOPE_BYTES) await send();
  }
  await send();
  await client.putSnapshot(input.lockHash, manifest);
  return {
    packages: packages.length,
    bytes: packages.reduce((sum, p) => sum + p.size, 0),
    chunks: hashes.length,
    chunksUploaded: missing.length,
    bytesUploaded,
  };
}
