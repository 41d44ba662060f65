/**
 * A small push's chunks go into its commit (see store/sqlite-chunk-journal.ts) instead of waiting
 * for the chunk folder's flush: an edit then reaches its peers after one flush of the hub's disk,
 * not three. These are the hub's three steps around that: which pushes qualify, moving their
 * chunks into the folder once answered, and moving what a stopped hub left when it starts again.
 */
import { sha256Hex } from '../core/hash.ts';
import type { ChunkStore } from './store/chunks-fs.ts';
import type { JournaledChunk } from './store/sqlite-chunk-journal.ts';
import type { ChunkJournal } from './store/store.ts';

/**
 * Pushes whose chunks hold at most this many bytes: an edit's. Larger ones, a first sync's or a
 * checkout's, write their chunks once in the folder and flush it in one pass, instead of twice.
 */
export const JOURNAL_MAX_BYTES = 256 * 1024;

/**
 * The chunks to write into the commit, or undefined when the push's chunks must be flushed in the
 * folder before it: the store keeps no journal, or they are too large, or not all are at hand.
 */
export function journalOf(
  journal: ChunkJournal | undefined,
  received: { bytes: ReadonlyMap<string, Uint8Array>; sizes: ReadonlyMap<string, number> },
): JournaledChunk[] | undefined {
  if (!journal || received.sizes.size === 0) return undefined;
  let total = 0;
  for (const size of received.sizes.values()) total += size;
  if (total > JOURNAL_MAX_BYTES) return undefined;
  const chunks: JournaledChunk[] = [];
  for (const hash of received.sizes.keys()) {
    const bytes = received.bytes.get(hash);
    if (!bytes) return undefined;
    chunks.push({ hash, bytes });
  }
  return chunks;
}

/**
 * How long after a journaled commit its chunks go into the folder. The folder's flush then runs
 * after the peers' own writes of the edit rather than beside them on the same disk, and a burst
 * of edits (typing, a save of several files) shares one flush.
 */
const MOVE_DELAY_MS = 100;

/**
 * Moves the chunks journaled commits carried into the folder, MOVE_DELAY_MS after the first of
 * them: flushes the folder that holds them staged, then drops their rows. A failure leaves the
 * rows for the next start (replayJournal).
 */
export class JournalMover {
  private waiting: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly journal: ChunkJournal,
    private readonly chunks: ChunkStore,
    private readonly log?: (line: string) => void,
    private readonly delayMs = MOVE_DELAY_MS,
  ) {}

  /** After the commit that carried `journaled` (it committed; its answer may still be on its way). */
  committed(journaled: readonly JournaledChunk[]): void {
    for (const chunk of journaled) this.waiting.push(chunk.hash);
    if (this.timer) return;
    this.timer = setTimeout(() => void this.move(), this.delayMs);
    this.timer.unref?.();
  }

  /** Moves what waits at once: a hub that stops leaves nothing for its next start. */
  async move(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const hashes = this.waiting;
    this.waiting = [];
    if (hashes.length === 0) return;
    try {
      await this.chunks.flush();
      await this.journal.drop(hashes);
    } catch (error) {
      this.log?.(
        `moving ${hashes.length} journaled chunk(s) into the chunk store failed (${(error as Error).message}); they stay in the database until the next start`,
      );
    }
  }
}

/**
 * At start: the chunks commits carried whose move into the folder a stop cut short go there now,
 * before the hub serves anyone. A row whose bytes do not match its hash is dropped (it cannot be
 * served), and its chunk is asked of the agents like any chunk the hub lacks. Resolves to how many
 * chunks were moved.
 */
export async function replayJournal(journal: ChunkJournal, chunks: ChunkStore): Promise<number> {
  const pending = await journal.pending();
  if (pending.length === 0) return 0;
  let moved = 0;
  for (const { hash, bytes } of pending) {
    if (sha256Hex(bytes) !== hash) continue;
    await chunks.put(hash, bytes);
    moved++;
  }
  await chunks.flush();
  await journal.drop(pending.map((c) => c.hash));
  return moved;
}
