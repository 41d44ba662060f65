/**
 * Content-defined chunking (FastCDC-style gear hashing with normalised chunking).
 *
 * Why content-defined: with fixed-size blocks, one byte inserted near the start of a file shifts
 * every later block and all of them would be re-sent. Cut points chosen from the content itself
 * move with the content, so an insertion only changes the chunk or two around it.
 *
 * Invariant: the output is a pure function of the bytes and the parameters; every machine cuts the
 * same file at the same places, which is what lets the server dedupe chunks across agents.
 */
import { sha256Hex } from './hash.ts';

export interface ChunkParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

/** Defaults tuned for source trees: most files are one chunk; large files cut near 64 KiB. */
export const DEFAULT_CHUNK_PARAMS: ChunkParams = {
  minSize: 16 * 1024,
  avgSize: 64 * 1024,
  maxSize: 256 * 1024,
};

export interface ChunkRef {
  hash: string;
  offset: number;
  size: number;
}

/** The gear table: 256 pseudo-random 32-bit values from a fixed seed (xorshift32), same everywhere. */
const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  let state = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    table[i] = state;
  }
  return table;
})();

function maskWithBits(bits: number): number {
  // The top bits of the gear hash depend on the most bytes of the window, so cut on those.
  return ((2 ** bits - 1) * 2 ** (32 - bits)) >>> 0;
}

/** Returns the end offsets of each chunk in `data`. */
export function findCutPoints(data: Uint8Array, params: ChunkParams = DEFAULT_CHUNK_PARAMS): number[] {
  const bits = Math.round(Math.log2(params.avgSize));
  // Normalised chunking: a stricter mask before the average size and a looser one after it,
  // which narrows the chunk-size distribution around the average.
  const strictMask = maskWithBits(bits + 1);
  const looseMask = maskWithBits(bits - 1);
  const cuts: number[] = [];
  let start = 0;
  const length = data.length;
  while (start < length) {
    const remaining = length - start;
    if (remaining <= params.minSize) {
      cuts.push(length);
      break;
    }
    const end = start + Math.min(remaining, params.maxSize);
    const normal = Math.min(start + params.avgSize, end);
    let hash = 0;
    let i = start + params.minSize;
    let cut = end;
    for (; i < normal; i++) {
      hash = ((hash << 1) + GEAR[data[i]!]!) >>> 0;
      if ((hash & strictMask) === 0) {
        cut = i + 1;
        break;
      }
    }
    if (cut === end) {
      for (; i < end; i++) {
        hash = ((hash << 1) + GEAR[data[i]!]!) >>> 0;
        if ((hash & looseMask) === 0) {
          cut = i + 1;
          break;
        }
      }
    }
    cuts.push(cut);
    start = cut;
  }
  return cuts;
}

/** Splits `data` into content-defined chunks and hashes each one. An empty file has no chunks. */
export function chunkBytes(data: Uint8Array, params: ChunkParams = DEFAULT_CHUNK_PARAMS): ChunkRef[] {
  const refs: ChunkRef[] = [];
  let offset = 0;
  for (const cut of findCutPoints(data, params)) {
    refs.push({ hash: sha256Hex(data.subarray(offset, cut)), offset, size: cut - offset });
    offset = cut;
  }
  return refs;
}
