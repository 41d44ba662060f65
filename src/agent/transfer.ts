/**
 * Moving chunk bytes between the agent and the hub: uploads split into bounded envelopes, and
 * downloads verified chunk by chunk, where a damaged chunk is asked for again on its own with
 * backoff (1 s, 2 s, 4 s) before a circuit breaker stops asking for a while.
 */

import type { ChunkSpec, EntryContent } from '../core/entry.ts';
import { type ChunkFrame, FrameError, makeFrame, openFrame } from '../core/frames.ts';
import { groupsBySize } from '../core/size-groups.ts';
import type { ChunkCache } from './chunk-cache.ts';
import { type HubClient, HubError } from './client.ts';

/** Envelope size for bulk uploads and downloads: big enough to amortise a round trip. */
export const ENVELOPE_BYTES = 8 * 1024 * 1024;
const FETCH_BATCH = 2000;
const RETRY_DELAYS_MS = [1000, 2000, 4000];
const BREAKER_OPEN_MS = 30_000;

export class CircuitBreaker {
  private openUntil = 0;

  isOpen(now = Date.now()): boolean {
    return now < this.openUntil;
  }

  trip(now = Date.now()): void {
    this.openUntil = now + BREAKER_OPEN_MS;
  }
}

/** Builds upload frames for chunks the hub lacks, as deltas where a base is known. */
export function uploadFrames(
  chunks: ReadonlyArray<ChunkSpec>,
  bytes: Uint8Array,
  previous: EntryContent | undefined,
  cache: ChunkCache,
  known: (hash: string) => boolean,
): ChunkFrame[] {
  const frames: ChunkFrame[] = [];
  const previousChunks = previous?.kind === 'file' ? previous.chunks : [];
  let offset = 0;
  for (const [index, [hash, size]] of chunks.entries()) {
    const data = bytes.subarray(offset, offset + size);
    offset += size;
    if (known(hash)) continue;
    const baseHash = previousChunks[index]?.[0];
    const baseBytes = baseHash && known(baseHash) ? cache.get(baseHash) : undefined;
    frames.push(
      makeFrame(hash, data, baseHash && baseBytes ? { hash: baseHash, bytes: baseBytes } : undefined),
    );
  }
  return frames;
}

/** Groups frames into envelopes of about `ENVELOPE_BYTES`. */
export function packFrames(frames: readonly ChunkFrame[]): ChunkFrame[][] {
  return groupsBySize(frames, (frame) => frame.payload.length, ENVELOPE_BYTES);
}

/**
 * Fetches `wanted` chunks (hash -> delta base hint) into `cache`-independent results. Chunks the
 * hub lacks, or that stayed damaged after the retries, are absent from the result. Throws HubError
 * only when the hub cannot be reached.
 */
export async function fetchChunks(
  client: HubClient,
  wanted: ReadonlyMap<string, string | undefined>,
  lookupBase: (hash: string) => Uint8Array | undefined,
  breaker: CircuitBreaker,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<Map<string, Uint8Array>> {
  const got = new Map<string, Uint8Array>();
  let todo = [...wanted.keys()];
  for (let attempt = 0; todo.length > 0; attempt++) {
    // Paused after repeated bad chunks: what is not here yet waits (its files are deferred).
    if (breaker.isOpen()) return got;
    const failed: string[] = [];
    const batches: string[][] = [];
    for (let i = 0; i < todo.length; i += FETCH_BATCH) batches.push(todo.slice(i, i + FETCH_BATCH));
    // Bounded parallelism: a few batches in flight overlap the hub's reads with ours.
    for (let i = 0; i < batches.length; i += 4) {
      await Promise.all(
        batches.slice(i, i + 4).map(async (batch) => {
          let remaining = batch;
          while (remaining.length > 0) {
            const want = remaining.map((hash) => {
              const base = attempt === 0 ? wanted.get(hash) : undefined;
              return base && lookupBase(base) ? { hash, base } : { hash };
            });
            const reply = await client.fetchChunks(want);
            // Lost or damaged on the hub: left out of the result, so only the files that need
            // them wait, and the rest of the batch applies.
            const answered = new Set<string>(reply.missing);
            for (const frame of reply.frames) {
              answered.add(frame.hash);
              try {
                got.set(frame.hash, openFrame(frame, lookupBase));
              } catch (error) {
                if (!(error instanceof FrameError)) throw error;
                failed.push(frame.hash);
              }
            }
            // The hub caps reply size; ask again for what it left out.
            remaining = remaining.filter((h) => !answered.has(h));
            if (answered.size === 0 && remaining.length > 0)
              throw new HubError('hub returned no chunks', 500);
          }
        }),
      );
    }
    if (failed.length === 0) break;
    const delay = RETRY_DELAYS_MS[attempt];
    if (delay === undefined) {
      // Stayed damaged after every retry: leave them out, and stop asking for a while.
      breaker.trip();
      return got;
    }
    await sleep(delay);
    todo = failed;
  }
  return got;
}
