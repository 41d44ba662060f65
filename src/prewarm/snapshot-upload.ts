/**
 * Turning an installed `node_modules` into a snapshot at the hub: walk it, cut every file into
 * content-defined chunks, upload only the chunks the hub lacks (as push envelopes with no
 * changes), then store the manifest. Because chunks are named by content, two snapshots of
 * lockfiles that differ by one package share every chunk but that package's.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { chunkBytes } from '../core/chunk.ts';
import { type ChunkFrame, makeFrame } from '../core/frames.ts';
import { MAX_MISSING_HASHES } from '../core/limits.ts';
import { installPlatform } from './npm-install.ts';
import {
  SNAPSHOT_FORMAT,
  type SnapshotEntry,
  type SnapshotManifest,
  snapshotChunks,
} from './snapshot-manifest.ts';

/** Where one chunk's bytes can be read again: a file and a range of it. */
interface ChunkSource {
  file: string;
  offset: number;
  size: number;
}

/** The part of HubClient an upload needs. */
export interface SnapshotUploadClient {
  missing(hashes: string[]): Promise<string[]>;
  push(
    header: { agent: string; batch: 'edits'; changes: [] },
    frames: readonly ChunkFrame[],
  ): Promise<{ missingChunks: string[] }>;
  putSnapshot(lockHash: string, manifest: SnapshotManifest): Promise<void>;
}

export interface SnapshotUploadReport {
  paths: number;
  files: number;
  bytes: number;
  chunks: number;
  chunksUploaded: number;
  bytesUploaded: number;
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

/**
 * Describes `root` (an installed `node_modules`) as snapshot entries, parents before children,
 * names sorted so the same tree always gives the same manifest; links are recorded, never followed.
 * Anything that is not a file, folder or link (sockets, fifos) is left out.
 */
export function scanInstallTree(root: string): {
  entries: SnapshotEntry[];
  sources: Map<string, ChunkSource>;
} {
  const entries: SnapshotEntry[] = [];
  const sources = new Map<string, ChunkSource>();
  const walk = (prefix: string) => {
    const folder = prefix === '' ? root : join(root, prefix);
    for (const name of readdirSync(folder).sort()) {
      const path = prefix === '' ? name : `${prefix}/${name}`;
      const absolute = join(root, path);
      const stats = lstatSync(absolute);
      if (stats.isSymbolicLink()) entries.push({ path, kind: 'symlink', target: readlinkSync(absolute) });
      else if (stats.isDirectory()) {
        entries.push({ path, kind: 'dir', mode: stats.mode & 0o777 });
        walk(path);
      } else if (stats.isFile()) {
        const bytes = readFileSync(absolute);
        const chunks = chunkBytes(bytes);
        for (const chunk of chunks)
          if (!sources.has(chunk.hash)) sources.set(chunk.hash, { file: absolute, ...chunk });
        entries.push({
          path,
          kind: 'file',
          mode: stats.mode & 0o777,
          size: bytes.length,
          chunks: chunks.map((c) => [c.hash, c.size]),
        });
      }
    }
  };
  walk('');
  return { entries, sources };
}

/**
 * Uploads `nodeModules` as the snapshot of `lockHash`: chunks the hub lacks first, then the
 * manifest (which the hub refuses while any chunk is missing). Throws HubError when the hub
 * cannot be reached or refuses.
 *
 * @example
 * await uploadSnapshot(client, '/tmp/build/node_modules', lockHash);
 */
export async function uploadSnapshot(
  client: SnapshotUploadClient,
  nodeModules: string,
  lockHash: string,
  platform: { platform: string; nodeAbi: string } = installPlatform(),
): Promise<SnapshotUploadReport> {
  const { entries, sources } = scanInstallTree(nodeModules);
  const manifest: SnapshotManifest = { format: SNAPSHOT_FORMAT, lockHash, ...platform, entries };
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
  // Missing chunks come in first-use order, so consecutive chunks mostly share a file: read each once.
  let openFile = '';
  let openBytes: Uint8Array = new Uint8Array();
  for (const hash of missing) {
    const source = sources.get(hash);
    if (!source) throw new Error(`the hub asked for chunk ${hash.slice(0, 12)}, which the snapshot lacks`);
    if (source.file !== openFile) {
      openBytes = readFileSync(source.file);
      openFile = source.file;
    }
    frames.push(makeFrame(hash, openBytes.subarray(source.offset, source.offset + source.size)));
    pending += source.size;
    bytesUploaded += source.size;
    if (pending >= ENVELOPE_BYTES) await send();
  }
  await send();
  await client.putSnapshot(lockHash, manifest);
  const files = entries.filter((e) => e.kind === 'file');
  return {
    paths: entries.length,
    files: files.length,
    bytes: files.reduce((sum, e) => sum + e.size, 0),
    chunks: hashes.length,
    chunksUploaded: missing.length,
    bytesUploaded,
  };
}
