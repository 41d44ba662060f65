/**
 * Chunk garbage collection: first drop what is past retention (history and tombstones, see
 * core/history.ts), then mark every chunk that a live entry of any workspace, a version kept in
 * history or a stored dependency snapshot names, and sweep the rest, but only chunks not written
 * or touched for the grace period, so the chunks of a push still in flight (uploaded, not yet
 * committed) or one just answered "present" by `/v1/chunks/missing` stay.
 */
import { DEFAULT_HISTORY_DAYS, retentionCutoff, tombstoneSeqLimit } from '../core/history.ts';
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
  /** Versions past retention no longer kept in history, and tombstones dropped. */
  expiredVersions: number;
  expiredTombstones: number;
  durationMs: number;
}

export interface GcOptions {
  graceMs?: number;
  now?: number;
  /** Days replaced and deleted versions (and tombstones) are kept (default DEFAULT_HISTORY_DAYS). */
  historyDays?: number;
  /** The cursors of the workspace's connected agents: no tombstone at or above one is dropped. */
  activeCursors?: (workspace: string) => number[];
}

export async function collectGarbage(
  store: Store,
  chunks: SweepableChunks,
  options: GcOptions = {},
): Promise<GcReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  // The cutoff is taken before the mark: a chunk written after it is younger than the cutoff.
  const before = now - (options.graceMs ?? GC_GRACE_MS);
  const expired = await store.expire({
    cutoff: retentionCutoff(now, options.historyDays ?? DEFAULT_HISTORY_DAYS),
    tombstoneLimit: (workspace, head) => tombstoneSeqLimit(head, options.activeCursors?.(workspace) ?? []),
  });
  const live = await store.liveChunks();
  const { removed, bytes } = chunks.sweep((hash) => live.has(hash), before);
  await store.forgetChunks(removed);
  return {
    live: live.size,
    removed: removed.length,
    bytesFreed: bytes,
    expiredVersions: expired.versions,
    expiredTombstones: expired.tombstones,
    durationMs: performance.now() - started,
  };
}
