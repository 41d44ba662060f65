import { describe, expect, it } from 'bun:test';
import { type ChunkParams, chunkBytes, DEFAULT_CHUNK_PARAMS, findCutPoints } from '../../src/core/chunk.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { concat } from '../helpers/fuzz/mutate.ts';
import { Random, testSeed } from '../helpers/random.ts';

const seed = testSeed();
const MiB = 1024 * 1024;
/** Small parameters so that many chunks fit in a small buffer. */
const SMALL: ChunkParams = { minSize: 64, avgSize: 256, maxSize: 1024 };

describe('findCutPoints', () => {
  it('gives no cut points for empty input', () => {
    expect(findCutPoints(new Uint8Array())).toEqual([]);
  });

  it('gives one cut at the end for input no longer than minSize', () => {
    const data = new Random(seed).bytes(DEFAULT_CHUNK_PARAMS.minSize);
    expect(findCutPoints(data), `seed ${seed}`).toEqual([data.length]);
  });

  it('cuts the same bytes at the same places every time', () => {
    const random = new Random(seed);
    const data = random.bytes(MiB);
    expect(findCutPoints(data), `seed ${seed}`).toEqual(findCutPoints(data.slice()));
  });

  it('is strictly increasing and ends at the input length', () => {
    const data = new Random(seed).bytes(2 * MiB);
    const cuts = findCutPoints(data);
    for (let i = 1; i < cuts.length; i++) expect(cuts[i]!, `seed ${seed}`).toBeGreaterThan(cuts[i - 1]!);
    expect(cuts.at(-1), `seed ${seed}`).toBe(data.length);
  });

  it('cuts a buffer of one repeated byte at maxSize, since no content boundary is ever found', () => {
    const data = new Uint8Array(3 * SMALL.maxSize + 10).fill(7);
    expect(findCutPoints(data, SMALL)).toEqual([1024, 2048, 3072, 3082]);
  });
});

describe('chunkBytes', () => {
  const paramSets: [name: string, params: ChunkParams, size: number][] = [
    ['the defaults', DEFAULT_CHUNK_PARAMS, 2 * MiB],
    ['small parameters', SMALL, 64 * 1024],
  ];

  it('gives no chunks for an empty file', () => {
    expect(chunkBytes(new Uint8Array())).toEqual([]);
  });

  for (const [name, params, size] of paramSets) {
    it(`keeps every chunk but the last within [minSize, maxSize] with ${name}`, () => {
      const chunks = chunkBytes(new Random(seed).bytes(size), params);
      expect(chunks.length, `seed ${seed}`).toBeGreaterThan(2);
      for (const c of chunks.slice(0, -1)) {
        expect(c.size, `seed ${seed}, chunk at ${c.offset}`).toBeGreaterThanOrEqual(params.minSize);
        expect(c.size, `seed ${seed}, chunk at ${c.offset}`).toBeLessThanOrEqual(params.maxSize);
      }
      const last = chunks.at(-1)!;
      expect(last.size, `seed ${seed}`).toBeGreaterThan(0);
      expect(last.size, `seed ${seed}`).toBeLessThanOrEqual(params.maxSize);
    });

    it(`gives chunks that are contiguous and concatenate to the input with ${name}`, () => {
      const data = new Random(seed).bytes(size);
      const chunks = chunkBytes(data, params);
      let offset = 0;
      for (const c of chunks) {
        expect(c.offset, `seed ${seed}`).toBe(offset);
        offset += c.size;
      }
      const rebuilt = concat(...chunks.map((c) => data.subarray(c.offset, c.offset + c.size)));
      expect(Buffer.from(rebuilt).equals(Buffer.from(data)), `seed ${seed}`).toBe(true);
    });

    it(`names each chunk by the SHA-256 of its bytes with ${name}`, () => {
      const data = new Random(seed).bytes(size);
      for (const c of chunkBytes(data, params))
        expect(c.hash, `seed ${seed}`).toBe(sha256Hex(data.subarray(c.offset, c.offset + c.size)));
    });
  }

  it('averages chunk sizes near avgSize on random data', () => {
    const data = new Random(seed).bytes(256 * 1024);
    const chunks = chunkBytes(data, SMALL);
    const mean = data.length / chunks.length;
    // Normalised chunking centres sizes on minSize + about avgSize; allow a wide band.
    expect(mean, `seed ${seed}`).toBeGreaterThan(SMALL.avgSize / 2);
    expect(mean, `seed ${seed}`).toBeLessThan(SMALL.avgSize * 2);
  });

  it('changes at most 3 chunk hashes when a few bytes are inserted in the middle of 2 MiB', () => {
    const random = new Random(seed);
    const data = random.bytes(2 * MiB);
    const at = random.int(MiB - 64 * 1024, MiB + 64 * 1024);
    const edited = concat(data.subarray(0, at), random.bytes(random.int(1, 16)), data.subarray(at));
    const before = new Set(chunkBytes(data).map((c) => c.hash));
    const after = chunkBytes(edited);
    const changed = after.filter((c) => !before.has(c.hash));
    expect(changed.length, `seed ${seed}, insertion at ${at}`).toBeGreaterThanOrEqual(1);
    expect(changed.length, `seed ${seed}, insertion at ${at}`).toBeLessThanOrEqual(3);
  });

  it('keeps every chunk before an edit unchanged', () => {
    const random = new Random(seed);
    const data = random.bytes(2 * MiB);
    const at = random.int(MiB, 2 * MiB - 1);
    const edited = data.slice();
    edited[at] = edited[at]! ^ 0xff;
    const before = chunkBytes(data).filter((c) => c.offset + c.size <= at);
    expect(chunkBytes(edited).slice(0, before.length), `seed ${seed}, edit at ${at}`).toEqual(before);
  });
});
