/**
 * Push envelopes built by hand for the protocol fuzzer, like encodeEnvelope's but from header
 * text (so it can be any text) and with each frame's place kept, for damage aimed at the framing;
 * and zstd frames that lie about their size.
 */
import { compress } from '../../../src/core/compress.ts';
import type { ChunkFrame } from '../../../src/core/frames.ts';
import { concat } from './mutate.ts';

const ENCODING = { raw: 0, zstd: 1, delta: 2 } as const;

export interface Layout {
  bytes: Uint8Array<ArrayBuffer>;
  /** Where each frame's encoding byte and length word are. */
  frames: Array<{ at: number; lengthAt: number; end: number }>;
  headerEnd: number;
}

/** An envelope like encodeEnvelope's, from header text, with the layout kept for targeted damage. */
export function layoutEnvelope(
  headerText: string,
  frames: readonly ChunkFrame[],
  packHeader: boolean,
): Layout {
  const plain = new TextEncoder().encode(headerText);
  const json = packHeader ? compress(plain) : plain;
  const parts: Uint8Array[] = [];
  const word = new Uint8Array(4);
  new DataView(word.buffer).setUint32(0, packHeader ? (json.length | 0x80000000) >>> 0 : json.length);
  parts.push(word, json);
  let at = 4 + json.length;
  const spots: Layout['frames'] = [];
  for (const f of frames) {
    const head = new Uint8Array(1 + 32 + (f.encoding === 'delta' ? 32 : 0) + 4);
    head[0] = ENCODING[f.encoding];
    head.set(Buffer.from(f.hash, 'hex'), 1);
    if (f.encoding === 'delta') head.set(Buffer.from(f.base ?? '', 'hex'), 33);
    new DataView(head.buffer).setUint32(head.length - 4, f.payload.length);
    spots.push({ at, lengthAt: at + head.length - 4, end: at + head.length + f.payload.length });
    parts.push(head, f.payload);
    at += head.length + f.payload.length;
  }
  return { bytes: concat(...parts), frames: spots, headerEnd: 4 + json.length };
}

/** A zstd frame that declares `declared` bytes of content and holds `payload` raw. */
export function zstdFrameDeclaring(declared: bigint, payload: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 1 + 8 + 3);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0xfd2fb528, true); // magic
  header[4] = 0xe0; // 8-byte content size, single segment
  view.setBigUint64(5, declared, true);
  const block = (payload.length << 3) | 1; // last block, raw
  header[13] = block & 0xff;
  header[14] = (block >> 8) & 0xff;
  header[15] = (block >> 16) & 0xff;
  return concat(header, payload);
}
