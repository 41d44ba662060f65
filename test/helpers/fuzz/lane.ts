/**
 * How the fuzzer's lanes run: each surface of the hub (pushes, catch-up pages, chunk queries,
 * snapshots, status and other routes, the live socket) is a lane with its own seeded stream, so
 * its inputs do not depend on how the lanes interleave. Lanes run side by side against one hub;
 * every answer goes through the ledger, which records what was sent and any broken property.
 */
import { Random } from '../random.ts';
import type { Ledger } from './ledger.ts';
import type { FuzzChunk } from './push-cases.ts';

export interface FuzzContext {
  seed: number;
  url: string;
  /** The admin credential, sent on every request but those that fuzz it. */
  token: string;
  ledger: Ledger;
  /** Chunks the hub holds before the fuzz. */
  known: readonly FuzzChunk[];
  agents: readonly string[];
  /** The workspace pushes go to. */
  fuzz: string;
  /** The workspace only read: no write request names it. */
  witness: string;
  witnessHead: number;
  /** The lockfile hash of the witness's snapshot. */
  witnessLock: string;
  /** Records a path an accepted push said it changed. */
  touch(workspace: string, path: string): void;
}

/** A fetch with the credential. */
export function caller(ctx: Pick<FuzzContext, 'url' | 'token'>) {
  return (path: string, init: RequestInit = {}) =>
    fetch(`${ctx.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ctx.token}`, ...(init.headers as Record<string, string>) },
    });
}

/** An independent stream per lane. */
export function laneRandom(seed: number, lane: string): Random {
  let h = seed;
  for (const c of lane) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return new Random(h);
}

/** Lane timings and the slowest cases, for the report. */
export const timings = {
  lanes: [] as string[],
  slowest: [] as Array<{ ms: number; lane: string; index: number }>,
};

/**
 * Runs a lane's cases while `more(index)` holds, `width` at a time. FUZZ_LANES=push,live runs
 * only the lanes named, with the inputs they get in a full run.
 */
export async function lane(
  name: string,
  width: number,
  more: (index: number) => boolean,
  run: (index: number) => Promise<void>,
): Promise<void> {
  if (process.env.FUZZ_LANES && !process.env.FUZZ_LANES.split(',').includes(name)) return;
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (more(next)) {
        const index = next++;
        const started = performance.now();
        await run(index);
        timings.slowest.push({ ms: Math.round(performance.now() - started), lane: name, index });
        if (timings.slowest.length > 200) timings.slowest.sort((a, b) => b.ms - a.ms).splice(20);
      }
    }),
  );
  timings.lanes.push(`${name} ${Math.round((performance.now() - began) / 1000)} s`);
}
