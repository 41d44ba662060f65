/** Content and frames for tests of how the hub keeps and serves zstd frames. */
import * as zlib from 'node:zlib';
import { sha256Hex } from '../../src/core/hash.ts';

/** Text varied enough that zstd's levels 3 and 19 write it differently. */
export function variedText(label: string, words = 6000): Uint8Array {
  let seed = label.length * 7919;
  return new TextEncoder().encode(
    Array.from({ length: words }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return `${label}${seed % 997}`;
    }).join(' '),
  );
}

/** A zstd frame at level 19, which the hub (level 3) would not make byte for byte. */
export function strongFrame(bytes: Uint8Array) {
  const payload = (
    zlib as unknown as { zstdCompressSync(d: Uint8Array, o: object): Uint8Array }
  ).zstdCompressSync(bytes, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 19 } });
  return { hash: sha256Hex(bytes), encoding: 'zstd' as const, payload: new Uint8Array(payload) };
}
