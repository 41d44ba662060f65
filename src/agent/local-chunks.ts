/**
 * Chunks found in the agent's own copies of its base versions: delta bases for the chunks a live
 * batch carries inline, and chunks another agent could not get from the hub, uploaded again.
 * A local copy that is gone or changed holds none of them; another copy may.
 */
import { type ChunkFrame, FrameError, openFrame } from '../core/frames.ts';
import type { ChunkCache } from './chunk-cache.ts';
import { readChunksOf } from './chunk-gatherer.ts';
import type { HubClient } from './client.ts';
import type { BaseRecord } from './state.ts';
import { uploadFrames } from './transfer.ts';

export interface LocalChunksDeps {
  dir: string;
  agentId: string;
  bases: ReadonlyMap<string, BaseRecord>;
  cache: ChunkCache;
  client: HubClient;
  log: (line: string) => void;
}

/**
 * Opens the chunks a live batch carries inline into the cache, each against its delta base
 * (from the cache or a local copy). An inline chunk that does not open is simply fetched later.
 */
export async function openInlineFrames(deps: LocalChunksDeps, frames: readonly ChunkFrame[]): Promise<void> {
  const { cache } = deps;
  for (const frame of frames) {
    if (cache.has(frame.hash)) continue;
    if (frame.base && !cache.has(frame.base)) loadLocalChunk(deps, frame.base);
    try {
      cache.set(
        frame.hash,
        openFrame(frame, (h) => cache.get(h)),
      );
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
    }
  }
}

/** Finds a chunk in the local copy of a base version that contains it. */
function loadLocalChunk(deps: LocalChunksDeps, hash: string): void {
  for (const [path, base] of deps.bases) {
    if (base.content.kind !== 'file') continue;
    if (!base.content.chunks.some(([h]) => h === hash)) continue;
    readChunksOf(deps.dir, path, base.content.chunks, (h) => h === hash, deps.cache);
    if (deps.cache.has(hash)) return;
  }
}

/**
 * Uploads again the chunks another agent could not get from the hub (lost or damaged there),
 * from the local files that hold them, each verified against its hash before it is sent.
 */
export async function offerChunks(deps: LocalChunksDeps, hashes: readonly string[]): Promise<void> {
  const wanted = new Set(hashes);
  const found = new Map<string, Uint8Array>();
  for (const [path, base] of deps.bases) {
    if (wanted.size === found.size) break;
    if (base.content.kind !== 'file' || !base.content.chunks.some(([h]) => wanted.has(h) && !found.has(h)))
      continue;
    // Only the wanted chunks are read.
    readChunksOf(deps.dir, path, base.content.chunks, (h) => wanted.has(h) && !found.has(h), found);
  }
  if (found.size === 0) return;
  const specs = [...found].map(([h, b]): [string, number] => [h, b.length]);
  const bytes = new Uint8Array(specs.reduce((n, [, size]) => n + size, 0));
  let offset = 0;
  for (const [h] of specs) {
    bytes.set(found.get(h)!, offset);
    offset += found.get(h)!.length;
  }
  const frames = uploadFrames(specs, bytes, undefined, deps.cache, () => false);
  await deps.client.push({ agent: deps.agentId, batch: 'edits', changes: [] }, frames);
  deps.log(`uploaded ${frames.length} chunk(s) that another agent could not get from the hub`);
}
