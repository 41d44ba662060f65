/**
 * Chunk garbage collection: mark every chunk that a live entry of any workspace or a stored
 * dependency snapshot names, sweep the rest, but only chunks not written or touched for the
 * grace period, so the chunks of a push still in flight (uploaded, not yet committed) or one
 * just answered "present" by `/v1/chunks/missing` stay.
 */
import type { Store } from './store/store.ts';

/** Chunks unused for less than this are kept: a push uploads its chunks well within it. */
export const GC_GRACE_MS = 60 * 60 * 1000;

export interface SweepableChunks {
  sweep(keep: (hash: string) => boolean, before: number): { removed: string[]; bytes: number };
}

export interface GcReport {
  live: number;
  removed: number;
  bytesFreed: number;
  durationMs: number;
}

export async function collectGarbage(
  store: Store,
  chunks: SweepableChunks,
  options: { graceMs?: number; now?: number } = {},
): Promise<GcReport> {
  const started = performance.now();
  // The cutoff is taken before the mark: a chunk written after it is younger than the cutoff.
  const before = (options.now ?? Date.now()) - (options.graceMs ?? GC_GRACE_MS);
  const live = await store.liveChunks();
  const { removed, bytes } = chunks.sweep((hash) => live.has(hash), before);
  await store.forgetChunks(removed);
  return {
    live: live.size,
    removed: removed.length,
    bytesFreed: bytes,
    durationMs: performance.now() - started,
  };
}
