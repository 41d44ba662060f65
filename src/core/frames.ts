/**
 * Binary framing for chunk payloads, shared by pushes, fetches and live notifications.
 *
 * An envelope is: u32 length of a JSON header (top bit set: the header is zstd-compressed), the
 * JSON header, then chunk frames. A frame is:
 * u8 encoding, 32-byte chunk hash, [32-byte base hash when the encoding is a delta], u32 payload
 * length, payload. Every length is bounds-checked before use: these bytes come from the network.
 */
import { canCompress, compress, decompress } from './compress.ts';
import { sha256Hex } from './hash.ts';
import { formatBytes, MAX_CHUNK_BYTES, MAX_HEADER_BYTES } from './limits.ts';

export { MAX_CHUNK_BYTES };

/** 'zstd': compressed; 'delta': compressed with the base chunk as the dictionary. */
export type FrameEncoding = 'raw' | 'zstd' | 'delta';
const ENCODING_CODES: Record<FrameEncoding, number> = { raw: 0, zstd: 1, delta: 2 };
const CODE_ENCODINGS: FrameEncoding[] = ['raw', 'zstd', 'delta'];

export interface ChunkFrame {
  hash: string;
  encoding: FrameEncoding;
  /** The chunk the delta applies to; only for 'delta'. */
  base?: string;
  payload: Uint8Array;
}

export class FrameError extends Error {
  constructor(
    readonly code: 'malformed' | 'hash-mismatch' | 'missing-base' | 'too-large',
    message: string,
    /** Bytes inflated before the frame was found wrong: work done, to charge to a budget. */
    readonly inflated = 0,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** The top bit of the header length word marks a zstd-compressed header. */
const COMPRESSED_HEADER = 0x80000000;
const HEADER_COMPRESS_BYTES = 256;

/** Below this size compression rarely pays for its header. */
const MIN_COMPRESS_BYTES = 64;

/**
 * A delta this much smaller than its chunk is what an edit gives; compressing the chunk on its
 * own could not come near it, so that is not tried.
 */
const DELTA_WINS_AT_RATIO = 16;

/**
 * Builds the smallest frame for `bytes`: a compressed delta against `base` when one is given and
 * wins, else compressed, else raw.
 */
export function makeFrame(
  hash: string,
  bytes: Uint8Array,
  base?: { hash: string; bytes: Uint8Array },
): ChunkFrame {
  let best: ChunkFrame = { hash, encoding: 'raw', payload: bytes };
  if (!canCompress) return best;
  // Invariant: callers only frame chunks (<= MAX_CHUNK_BYTES), so receivers can bound inflation.
  if (base && base.hash !== hash) {
    const delta = compress(bytes, base.bytes);
    if (delta.length < bytes.length) best = { hash, encoding: 'delta', base: base.hash, payload: delta };
    if (delta.length * DELTA_WINS_AT_RATIO <= bytes.length) return best;
  }
  if (bytes.length >= MIN_COMPRESS_BYTES && looksCompressible(bytes)) {
    const packed = compress(bytes);
    if (packed.length < best.payload.length) best = { hash, encoding: 'zstd', payload: packed };
  }
  return best;
}

/** Samples the start of large chunks: compressed or random data is not worth compressing whole. */
function looksCompressible(bytes: Uint8Array): boolean {
  if (bytes.length < 16 * 1024) return true;
  const sample = bytes.subarray(0, 4096);
  return compress(sample).length < sample.length * 0.9;
}

/**
 * Decodes a frame back to chunk bytes and verifies them against the frame's hash.
 * `lookupBase` returns the bytes of a base chunk the receiver holds, or undefined. A frame that
 * would come to more than `maxBytes` (at most MAX_CHUNK_BYTES) is refused as 'too-large' before
 * it is inflated further: a receiver with a budget for a whole message passes what is left of it.
 */
export function openFrame(
  frame: ChunkFrame,
  lookupBase: (hash: string) => Uint8Array | undefined,
  maxBytes = MAX_CHUNK_BYTES,
): Uint8Array {
  const limit = Math.min(maxBytes, MAX_CHUNK_BYTES);
  const tooLarge = () =>
    new FrameError('too-large', `chunk ${frame.hash.slice(0, 12)} comes to more than ${formatBytes(limit)}`);
  // zlib takes a zero output limit as no limit at all.
  if (limit < 1) throw tooLarge();
  let bytes: Uint8Array;
  try {
    if (frame.encoding === 'raw') {
      if (frame.payload.length > limit) throw tooLarge();
      bytes = frame.payload;
    } else if (frame.encoding === 'zstd') bytes = decompress(frame.payload, limit);
    else {
      const base = frame.base ? lookupBase(frame.base) : undefined;
      if (!base) throw new FrameError('missing-base', `base chunk ${frame.base ?? '?'} is not available`);
      bytes = decompress(frame.payload, limit, base);
    }
  } catch (error) {
    if (error instanceof FrameError) throw error;
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw new FrameError('malformed', `chunk ${frame.hash.slice(0, 12)} does not decode: ${String(error)}`);
  }
  if (sha256Hex(bytes) !== frame.hash) {
    throw new FrameError(
      'hash-mismatch',
      `chunk ${frame.hash.slice(0, 12)} does not match its hash`,
      bytes.length,
    );
  }
  return bytes;
}

/** Serialises a JSON header and frames into one envelope. */
export function encodeEnvelope(header: unknown, frames: readonly ChunkFrame[]): Uint8Array<ArrayBuffer> {
  const plain = new TextEncoder().encode(JSON.stringify(header ?? null));
  // Headers name paths, hashes and vectors for every change: worth compressing once they are long.
  const packed = canCompress && plain.length >= HEADER_COMPRESS_BYTES ? compress(plain) : undefined;
  const json = packed && packed.length < plain.length ? packed : plain;
  let size = 4 + json.length;
  for (const f of frames) size += 1 + 32 + (f.encoding === 'delta' ? 32 : 0) + 4 + f.payload.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, json === plain ? json.length : (json.length | COMPRESSED_HEADER) >>> 0);
  out.set(json, 4);
  let at = 4 + json.length;
  for (const f of frames) {
    out[at] = ENCODING_CODES[f.encoding];
    out.set(hexToBytes(f.hash), at + 1);
    at += 33;
    if (f.encoding === 'delta') {
      out.set(hexToBytes(f.base ?? ''), at);
      at += 32;
    }
    view.setUint32(at, f.payload.length);
    out.set(f.payload, at + 4);
    at += 4 + f.payload.length;
  }
  return out;
}

export interface DecodeOptions {
  /** Most frames accepted; more throw FrameError('too-large') before any is kept. */
  maxFrames?: number;
}

/**
 * Parses an envelope; throws FrameError('malformed') on any inconsistency and
 * FrameError('too-large') for a header that inflates past MAX_HEADER_BYTES or more frames than
 * `maxFrames`. Frames are only sliced here, not inflated (see openFrame).
 */
export function decodeEnvelope(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): { header: unknown; frames: ChunkFrame[] } {
  const fail = (why: string): never => {
    throw new FrameError('malformed', `malformed message: ${why}`);
  };
  const maxFrames = options.maxFrames ?? Number.POSITIVE_INFINITY;
  if (bytes.length < 4) fail('shorter than its header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = view.getUint32(0);
  const compressed = (word & COMPRESSED_HEADER) !== 0;
  const jsonLength = word & ~COMPRESSED_HEADER;
  if (4 + jsonLength > bytes.length) fail('header length past the end');
  if (jsonLength > MAX_HEADER_BYTES) throw headerTooLarge();
  let header: unknown;
  try {
    const raw = bytes.subarray(4, 4 + jsonLength);
    const json = compressed ? decompress(raw, MAX_HEADER_BYTES) : raw;
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw headerTooLarge();
    fail(compressed ? 'compressed header does not decode to JSON' : 'header is not JSON');
  }
  const frames: ChunkFrame[] = [];
  let at = 4 + jsonLength;
  while (at < bytes.length) {
    if (frames.length >= maxFrames)
      throw new FrameError(
        'too-large',
        `message has more than ${maxFrames} chunk frames (the limit per request)`,
      );
    if (at + 33 > bytes.length) fail('truncated frame');
    const encoding = CODE_ENCODINGS[bytes[at]!] ?? fail(`unknown frame encoding ${bytes[at]}`);
    const hash = bytesToHex(bytes.subarray(at + 1, at + 33));
    at += 33;
    let base: string | undefined;
    if (encoding === 'delta') {
      if (at + 32 > bytes.length) fail('truncated delta base');
      base = bytesToHex(bytes.subarray(at, at + 32));
      at += 32;
    }
    if (at + 4 > bytes.length) fail('truncated frame length');
    const length = view.getUint32(at);
    at += 4;
    if (at + length > bytes.length) fail('frame payload past the end');
    frames.push({ hash, encoding, base, payload: bytes.subarray(at, at + length) });
    at += length;
  }
  return { header, frames };
}

function headerTooLarge(): FrameError {
  return new FrameError(
    'too-large',
    `message header is over ${formatBytes(MAX_HEADER_BYTES)} (the limit for a header, inflated)`,
  );
}

function hexToBytes(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new FrameError('malformed', 'chunk hash is not 64 hex digits');
  return Buffer.from(hex, 'hex');
}

function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
