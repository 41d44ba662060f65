/**
 * CPU cost of framing an edited chunk, the source's share of every edit's push: `makeFrame` of a
 * 60 KB chunk of text with one byte changed, against the chunk it replaced as the delta base.
 * Baseline in the same run: zstd (the agent's level) of the chunk alone, the least any frame of
 * it that is compressed at all costs. Medians over rounds of 200 calls each.
 *
 *   bun scripts/bench/frame-cost.ts [--rounds N]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compress } from '../../src/core/compress.ts';
import { makeFrame } from '../../src/core/frames.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { REPO_ROOT } from './lib/procs.ts';
import { median } from './lib/stats.ts';

const CALLS = 200;
const CHUNK_BYTES = 60_000;

function msPerCall(work: () => unknown): number {
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) work();
  return (performance.now() - started) / CALLS;
}

const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 15;
const base = readFileSync(join(REPO_ROOT, 'README.md')).subarray(0, CHUNK_BYTES);
const edited = new Uint8Array(base);
const middle = edited.length >> 1;
edited[middle] = (edited[middle] ?? 0) ^ 1;
const baseRef = { hash: sha256Hex(base), bytes: base };
const editedHash = sha256Hex(edited);

const framed: number[] = [];
const alone: number[] = [];
for (let r = 0; r < rounds; r++) {
  framed.push(msPerCall(() => makeFrame(editedHash, edited, baseRef)));
  alone.push(msPerCall(() => compress(edited)));
}
const frame = makeFrame(editedHash, edited, baseRef);
const f = median(framed);
const a = median(alone);
console.log(
  `makeFrame of an edited ${base.length}-byte chunk: ${f.toFixed(3)} ms (a ${frame.encoding} frame of ${frame.payload.length} bytes); ` +
    `zstd of the chunk alone: ${a.toFixed(3)} ms; ratio ${(f / a).toFixed(2)}x (median of ${rounds} rounds of ${CALLS})`,
);
