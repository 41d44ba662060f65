/**
 * Finding the bytes of every chunk a batch of remote versions needs: chunks already in memory,
 * chunks of the local copy of a large file's previous version or of a file the batch deletes (a
 * move), and the rest from the hub, verified chunk by chunk.
 */
import type { ManifestEntry } from '../core/entry.ts';
import type { ChunkCache } from './chunk-cache.ts';
import type { HubClient } from './client.ts';
import type { BaseRecord } from './state.ts';
import { type CircuitBreaker, fetchChunks } from './transfer.ts';
import { readChunkAt } from './tree-fs.ts';

export interface GatherDeps {
  dir: string;
  baseOf: (path: string) => BaseRecord | undefined;
  cache: ChunkCache;
  client: HubClient;
  breaker: CircuitBreaker;
}

/**
 * Local copies that may hold wanted chunks besides each path's own previous version: by chunk
 * hash, a path whose base lists it. The applier names the files its batch deletes, which are
 * still on disk while the batch's files are written: a folder moved on a peer arrives as the
 * deletion of the old paths and the same content at the new ones, and is copied from the old
 * files instead of fetched again.
 */
export type ChunkDonors = ReadonlyMap<string, string>;

/** The donors of the versions a batch deletes (see ChunkDonors). */
export function donorsOf(deps: Pick<GatherDeps, 'baseOf'>, deleted: readonly string[]): Map<string, string> {
  const donors = new Map<string, string>();
  for (const path of deleted) {
    const base = deps.baseOf(path)?.content;
    if (base?.kind === 'file') for (const [hash] of base.chunks) donors.set(hash, path);
  }
  return donors;
}

/**
 * Bytes for every chunk of the files to write: from memory, local copies, then the hub. A chunk
 * that none of them can give is simply absent from the result: only the files that need it wait.
 */
export async function gatherChunks(
  deps: GatherDeps,
  entries: readonly ManifestEntry[],
  donors: ChunkDonors = new Map(),
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  /** Chunks of local copies read for this batch (large files), usable as delta bases too. */
  const local = new Map<string, Uint8Array>();
  const wanted = new Map<string, string | undefined>();
  for (const entry of entries) {
    if (entry.content.kind !== 'file') continue;
    const base = deps.baseOf(entry.path)?.content;
    const baseChunks = base?.kind === 'file' ? base.chunks : [];
    const needed = entry.content.chunks.filter(([h]) => !out.has(h) && !deps.cache.has(h));
    if (needed.length > 0 && baseChunks.length > 0 && entry.content.size > 1024 * 1024) {
      // A large file: most chunks are usually in the local copy of the previous version.
      const want = new Set(needed.map(([h]) => h));
      readChunksOf(deps.dir, entry.path, baseChunks, (h) => want.has(h), local);
    }
    for (const [index, [hash]] of entry.content.chunks.entries()) {
      const donor = donors.get(hash);
      if (donor !== undefined && !out.has(hash) && !deps.cache.has(hash) && !local.has(hash)) {
        const chunks = deps.baseOf(donor)?.content;
        if (chunks?.kind === 'file') readChunksOf(deps.dir, donor, chunks.chunks, (h) => h === hash, local);
      }
      const found = deps.cache.get(hash) ?? local.get(hash);
      if (found) out.set(hash, found);
      else if (!out.has(hash)) wanted.set(hash, baseChunks[index]?.[0]);
    }
  }
  if (wanted.size > 0) {
    const fetched = await fetchChunks(
      deps.client,
      wanted,
      (h) => deps.cache.get(h) ?? local.get(h),
      deps.breaker,
    );
    for (const [hash, bytes] of fetched) out.set(hash, bytes);
  }
  return out;
}

/**
 * Reads the chunks `wanted` picks out of the local copy of `path`, each at its offset by the
 * base's chunk list, and files those that still hash to their names into `into`: only the chunks
 * needed are read, so a large file never sits whole in memory. A chunk the file no longer holds
 * (edited since, or gone) is simply not found; it is fetched from the hub instead.
 */
export function readChunksOf(
  dir: string,
  path: string,
  chunks: ReadonlyArray<readonly [string, number]>,
  wanted: (hash: string) => boolean,
  into: { set(hash: string, bytes: Uint8Array): unknown },
): void {
  let offset = 0;
  for (const [hash, size] of chunks) {
    const at = offset;
    offset += size;
    if (!wanted(hash)) continue;
    try {
      const bytes = readChunkAt(dir, path, at, size, hash);
      if (bytes) into.set(hash, bytes);
    } catch {
      // Unreadable here: the hub has it.
    }
  }
}

/** The bytes of a file from its chunk list, or undefined when a chunk is missing. */
export function assemble(
  chunks: ReadonlyArray<readonly [string, number]>,
  bytes: ReadonlyMap<string, Uint8Array>,
): Uint8Array | undefined {
  if (chunks.length === 1) return bytes.get(chunks[0]![0]);
  let size = 0;
  for (const [, n] of chunks) size += n;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const [hash] of chunks) {
    const part = bytes.get(hash);
    if (!part) return undefined;
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
