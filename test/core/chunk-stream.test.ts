import { describe, expect, it } from 'bun:test';
import { type ChunkParams, chunkBytes } from '../../src/core/chunk.ts';
import { ChunkStream } from '../../src/core/chunk-stream.ts';
import { Random } from '../helpers/random.ts';

const SMALL: ChunkParams = { minSize: 64, avgSize: 256, maxSize: 1024 };

function streamed(data: Uint8Array, pieces: number[], params?: ChunkParams) {
  const stream = new ChunkStream(params);
  const refs = [];
  let at = 0;
  for (const size of pieces) {
    // A reused Buffer, as a reader passes it: the stream must not keep a view of it.
    const buffer = Buffer.alloc(size);
    buffer.set(data.subarray(at, at + size));
    refs.push(...stream.push(buffer.subarray(0, Math.min(size, data.length - at))));
    buffer.fill(0);
    at += size;
    if (at >= data.length) break;
  }
  refs.push(...stream.end());
  return refs;
}

describe('ChunkStream', () => {
  it('cuts a stream read in pieces exactly where chunkBytes cuts the whole', () => {
    const random = new Random(7);
    for (let round = 0; round < 60; round++) {
      const data = new Uint8Array(random.int(0, 20_000));
      for (let i = 0; i < data.length; i++) data[i] = random.int(0, 255);
      const pieces = Array.from({ length: 400 }, () => random.int(1, 3000));
      expect(streamed(data, pieces, SMALL)).toEqual(chunkBytes(data, SMALL));
    }
  });

  it('matches with the default parameters on a few megabytes read 1 MiB at a time', () => {
    const random = new Random(11);
    const data = new Uint8Array(3 * 1024 * 1024 + 12345);
    for (let i = 0; i < data.length; i++) data[i] = random.int(0, 255);
    expect(streamed(data, Array(8).fill(1024 * 1024))).toEqual(chunkBytes(data));
  });

  it('gives no chunks for an empty stream', () => {
    expect(new ChunkStream().end()).toEqual([]);
  });
});
