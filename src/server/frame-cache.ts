/**
 * Compressed frames of chunks that pushes brought, kept a while by hash, so that a fetch of the
 * same chunk soon after (peers catching up with a first sync, many peers fetching one version)
 * is served with the bytes the pusher compressed instead of compressing them again. In a first
 * sync the hub spent about a seventh of its samples compressing chunks it had just received
 * compressed (BENCHMARKS.md, "First sync on an undisturbed disk").
 *
 * Only frames the push handler opened and verified are kept, and a fetch still reads the chunk
 * through the workspace's own chunk store first (its access check and its verification), so the
 * cache never serves a chunk the store would not: it only spares the compression.
 *
 * Used with chunk stores that keep chunks raw (S3); the chunk folder keeps the frames themselves.
 */
import type { ChunkFrame } from '../core/frames.ts';

/** What the frames kept may hold in all: a few slices of a first sync (2,000 files each). */
const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

export class FrameCache {
  /** Oldest first (a Map keeps insertion order): the first is the next to go. */
  private readonly frames = new Map<string, ChunkFrame>();
  private bytes = 0;

  constructor(private readonly maxBytes = DEFAULT_MAX_BYTES) {}

  /** Keeps a verified zstd frame (raw ones may be compressible: the pusher may lack zstd). */
  remember(frame: ChunkFrame): void {
    if (frame.encoding !== 'zstd' || frame.payload.length > this.maxBytes) return;
    this.forget(frame.hash);
    // A copy: the payload may be a view of the whole push body, which must not stay in memory.
    this.frames.set(frame.hash, { hash: frame.hash, encoding: 'zstd', payload: frame.payload.slice() });
    this.bytes += frame.payload.length;
    while (this.bytes > this.maxBytes) {
      const oldest = this.frames.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  /** The kept compressed frame of `hash`, if any. */
  compressed(hash: string): ChunkFrame | undefined {
    return this.frames.get(hash);
  }

  /** Bytes of the frames kept (for tests). */
  get size(): number {
    return this.bytes;
  }

  private forget(hash: string): void {
    const kept = this.frames.get(hash);
    if (!kept) return;
    this.frames.delete(hash);
    this.bytes -= kept.payload.length;
  }
}
