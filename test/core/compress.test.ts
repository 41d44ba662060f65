/**
 * Compression under Bun takes Bun's own zstd binding where it can: what it produces must be what
 * node:zlib (the Action's Node) produces and reads, so that either end can read the other's frames.
 */
import { describe, expect, it } from 'bun:test';
import * as zlib from 'node:zlib';
import { compress, decompress } from '../../src/core/compress.ts';

const nodeZstd = zlib as unknown as {
  zstdCompressSync(data: Uint8Array, options: { params: Record<number, number> }): Uint8Array;
  zstdDecompressSync(data: Uint8Array): Uint8Array;
};
const LEVEL_3 = { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } };

function sample(size: number): Uint8Array {
  let text = '';
  for (let i = 0; text.length < size; i++) text += `export const value_${i % 97} = ${(i * 7919) % 10007};\n`;
  return new TextEncoder().encode(text.slice(0, size));
}

describe('compress', () => {
  it('gives the bytes node:zlib gives at the same level, for small and large chunks', () => {
    for (const size of [64, 1000, 16 * 1024, 256 * 1024]) {
      const bytes = sample(size);
      expect(
        Buffer.from(compress(bytes)).equals(Buffer.from(nodeZstd.zstdCompressSync(bytes, LEVEL_3))),
      ).toBe(true);
      expect(Buffer.from(nodeZstd.zstdDecompressSync(compress(bytes))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('still makes deltas against a dictionary, read back with the same dictionary', () => {
    const base = sample(8000);
    const edited = new Uint8Array(base);
    edited[4000] = 0x21;
    const delta = compress(edited, base);
    expect(delta.length).toBeLessThan(100);
    expect(Buffer.from(decompress(delta, 1 << 20, base)).equals(Buffer.from(edited))).toBe(true);
  });
});
