/**
 * Chunks kept compressed in the chunk folder. A chunk a push brought as a zstd frame is kept as
 * that frame in `<hash>.z`, behind a header (a magic number, the chunk's length, and a SHA-256 of
 * both and the frame), so the hub neither writes the raw bytes nor compresses them again for every fetch:
 * serving a first sync's chunks to a new container was half of the hub's samples compressing them
 * (BENCHMARKS.md, "Hub has it, profiled"). Any other chunk is kept raw in `<hash>`, as every chunk
 * was before. The names differ so that an earlier version sharing or reopening the folder never
 * reads a compressed file as a damaged raw chunk and removes it: it does not see it at all (nor can
 * it serve it: after a downgrade, such chunks are asked of the agents again).
 *
 * Two ways to read one back, both checked:
 * - whole (`openCompressed`): the frame is opened and the bytes hashed against the chunk's name;
 * - as the frame to send (`compressedFrame`): the frame is hashed against the digest in the
 *   header, written after the frame had been opened and checked against the name. A fault on
 *   the disk is found either way; the receiving agent opens the frame and checks the name itself.
 */
import { decompress } from '../../core/compress.ts';
import { MAX_CHUNK_BYTES } from '../../core/frames.ts';
import { sha256, sha256Hex } from '../../core/hash.ts';
import { isSingleZstdFrame } from '../../core/zstd-frame.ts';

/** The suffix of a compressed chunk's file name. */
export const COMPRESSED_SUFFIX = '.z';
/** 0x89 "WSZ" CR LF SUB LF: not text, and a line-ending conversion or a truncated copy breaks it. */
const MAGIC = Uint8Array.of(0x89, 0x57, 0x53, 0x5a, 0x0d, 0x0a, 0x1a, 0x0a);
const LENGTH_AT = MAGIC.length;
const DIGEST_AT = LENGTH_AT + 4;
export const COMPRESSED_HEADER_BYTES = DIGEST_AT + 32;

/** A chunk as read from the folder: its raw bytes, or the zstd frame it is kept as. */
export type StoredChunk =
  | { length: number; bytes: Uint8Array; zstd?: undefined }
  | { length: number; zstd: Uint8Array; bytes?: undefined };

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Whether a chunk of `rawLength` bytes is kept as its frame `zstd`: when that saves space, and the
 * payload is exactly one zstd frame (see core/zstd-frame.ts), so that the hub sends no more than
 * what its own decoder opened.
 */
export function keepsFrame(rawLength: number, zstd: Uint8Array | undefined): zstd is Uint8Array {
  return zstd !== undefined && zstd.length + COMPRESSED_HEADER_BYTES < rawLength && isSingleZstdFrame(zstd);
}

/** The digest of a compressed file: of its magic and length, and of the frame. */
function digestOf(file: Uint8Array, zstd: Uint8Array): Uint8Array {
  return sha256(file.subarray(0, DIGEST_AT), zstd);
}

/** The file that keeps a chunk of `rawLength` bytes as `zstd`, a frame opened and checked to it. */
export function encodeCompressed(rawLength: number, zstd: Uint8Array): Uint8Array {
  const file = new Uint8Array(COMPRESSED_HEADER_BYTES + zstd.length);
  file.set(MAGIC, 0);
  view(file).setUint32(LENGTH_AT, rawLength, true);
  file.set(zstd, COMPRESSED_HEADER_BYTES);
  file.set(digestOf(file, zstd), DIGEST_AT);
  return file;
}

/**
 * The chunk's length from the first COMPRESSED_HEADER_BYTES of its file; undefined when they are
 * not a header. Not checked: `compressedFrame` checks it with the digest.
 */
function compressedLengthOf(head: Uint8Array): number | undefined {
  if (head.length < COMPRESSED_HEADER_BYTES) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (head[i] !== MAGIC[i]) return undefined;
  const length = view(head).getUint32(LENGTH_AT, true);
  // Never written outside these bounds (see keepsFrame); 0 would also leave decompression unbounded.
  return length > COMPRESSED_HEADER_BYTES && length <= MAX_CHUNK_BYTES ? length : undefined;
}

/** The frame a compressed file keeps, when the file is whole (its digest matches); else undefined. */
export function compressedFrame(file: Uint8Array): { length: number; zstd: Uint8Array } | undefined {
  const length = compressedLengthOf(file);
  if (length === undefined) return undefined;
  const zstd = file.subarray(COMPRESSED_HEADER_BYTES);
  const digest = file.subarray(DIGEST_AT, COMPRESSED_HEADER_BYTES);
  return digestOf(file, zstd).every((byte, i) => byte === digest[i]) ? { length, zstd } : undefined;
}

/** A whole compressed file (its digest matches) whose frame does not open to its chunk here. */
export class ChunkUnreadableError extends Error {}

/**
 * The chunk's raw bytes from its compressed file, checked against `hash`; undefined when the file
 * is damaged (its digest does not match). A whole file that does not open to the chunk throws
 * ChunkUnreadableError instead: its bytes are those the hub checked when it stored them, so the
 * fault is in this reading of them (memory, a decoder), and the file must not be removed as damaged.
 */
export function openCompressed(file: Uint8Array, hash: string): Uint8Array | undefined {
  const kept = compressedFrame(file);
  if (!kept) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = decompress(kept.zstd, kept.length);
  } catch (error) {
    throw new ChunkUnreadableError(`chunk ${hash} does not open: ${(error as Error).message}`);
  }
  if (bytes.length !== kept.length || sha256Hex(bytes) !== hash)
    throw new ChunkUnreadableError(`chunk ${hash} opens to other bytes than it was stored from`);
  return bytes;
}
