/**
 * The pack file format: many chunks in one file, so that a first sync's push of thousands of
 * chunks costs the hub one file to create, flush and rename instead of one per chunk (writing,
 * renaming and looking up one file per chunk was 42 % of the hub's samples in a cold sync).
 *
 * A pack is written whole under a temporary name, flushed and renamed into place, never changed
 * after: a pack under its name is complete. Its layout:
 *
 *   HEAD_MAGIC | chunk files, end to end | index | trailer
 *
 * Each chunk is kept exactly as its own file in the folder would hold it (raw bytes, or the
 * header-and-frame of chunk-file.ts), so it is read back and checked the same way. The index has
 * one INDEX_ENTRY_BYTES entry per chunk: its hash (32 bytes), offset in the pack, stored length,
 * raw length and flags. The trailer holds the index's SHA-256, the entry count, the index's
 * offset and TAIL_MAGIC; a pack whose trailer or index does not check is not read at all.
 *
 * Pure: builds and parses bytes, touches no file (see pack-shelf.ts for that).
 */
import { sha256 } from '../../core/hash.ts';

/** 0x89 "WSP" CR LF SUB LF, as chunk-file.ts's magic: not text, broken by a conversion. */
const HEAD_MAGIC = Uint8Array.of(0x89, 0x57, 0x53, 0x50, 0x0d, 0x0a, 0x1a, 0x0a);
/** "WSPACK" and a format version: the last bytes of a whole pack. */
const TAIL_MAGIC = Uint8Array.of(0x57, 0x53, 0x50, 0x41, 0x43, 0x4b, 0x00, 0x01);
export const INDEX_ENTRY_BYTES = 56;
export const TRAILER_BYTES = 32 + 4 + 8 + TAIL_MAGIC.length;
/** A chunk kept as its header-and-frame (chunk-file.ts), not raw. */
const FLAG_COMPRESSED = 1;

/** One chunk as a pack keeps it: the bytes its own file would hold. */
export interface PackInput {
  hash: string;
  /** The chunk's file: raw bytes, or the compressed file of chunk-file.ts. */
  file: Uint8Array;
  compressed: boolean;
  /** The chunk's raw length. */
  size: number;
}

/** Where a chunk sits in a pack. */
export interface PackSlot {
  hash: string;
  offset: number;
  /** Bytes the chunk takes in the pack (its file's length). */
  stored: number;
  size: number;
  compressed: boolean;
}

/** A pack's bytes, in parts to write end to end, and where each chunk landed. */
export interface EncodedPack {
  parts: Uint8Array[];
  length: number;
  slots: PackSlot[];
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * The pack holding `chunks`, as parts (the chunks' own buffers are not copied).
 *
 * @example
 * const { parts, slots } = encodePack([{ hash, file: bytes, compressed: false, size: bytes.length }]);
 */
export function encodePack(chunks: readonly PackInput[]): EncodedPack {
  const parts: Uint8Array[] = [HEAD_MAGIC];
  const slots: PackSlot[] = [];
  let offset = HEAD_MAGIC.length;
  for (const chunk of chunks) {
    parts.push(chunk.file);
    slots.push({
      hash: chunk.hash,
      offset,
      stored: chunk.file.length,
      size: chunk.size,
      compressed: chunk.compressed,
    });
    offset += chunk.file.length;
  }
  const index = new Uint8Array(slots.length * INDEX_ENTRY_BYTES);
  const entries = view(index);
  for (const [i, slot] of slots.entries()) {
    const at = i * INDEX_ENTRY_BYTES;
    index.set(Buffer.from(slot.hash, 'hex'), at);
    entries.setFloat64(at + 32, slot.offset, true);
    entries.setUint32(at + 40, slot.stored, true);
    entries.setUint32(at + 44, slot.size, true);
    entries.setUint32(at + 48, slot.compressed ? FLAG_COMPRESSED : 0, true);
  }
  const trailer = new Uint8Array(TRAILER_BYTES);
  trailer.set(sha256(index), 0);
  view(trailer).setUint32(32, slots.length, true);
  view(trailer).setFloat64(36, offset, true);
  trailer.set(TAIL_MAGIC, TRAILER_BYTES - TAIL_MAGIC.length);
  parts.push(index, trailer);
  return { parts, length: offset + index.length + trailer.length, slots };
}

/**
 * Where a pack of `packLength` bytes keeps its index, from its last TRAILER_BYTES; undefined when
 * they are not a trailer that fits the pack.
 */
export function indexLocation(
  trailer: Uint8Array,
  packLength: number,
): { at: number; count: number; digest: Uint8Array } | undefined {
  if (trailer.length !== TRAILER_BYTES) return undefined;
  if (!sameBytes(trailer.subarray(TRAILER_BYTES - TAIL_MAGIC.length), TAIL_MAGIC)) return undefined;
  const count = view(trailer).getUint32(32, true);
  const at = view(trailer).getFloat64(36, true);
  const fits =
    Number.isSafeInteger(at) &&
    at >= HEAD_MAGIC.length &&
    at + count * INDEX_ENTRY_BYTES + TRAILER_BYTES === packLength;
  return fits ? { at, count, digest: trailer.slice(0, 32) } : undefined;
}

/**
 * The slots an index holds, when it matches its digest and every slot lies within the chunks'
 * part of the pack (before `indexAt`); else undefined.
 */
export function decodeIndex(index: Uint8Array, digest: Uint8Array, indexAt: number): PackSlot[] | undefined {
  if (index.length % INDEX_ENTRY_BYTES !== 0 || !sameBytes(sha256(index), digest)) return undefined;
  const entries = view(index);
  const slots: PackSlot[] = [];
  for (let at = 0; at < index.length; at += INDEX_ENTRY_BYTES) {
    const offset = entries.getFloat64(at + 32, true);
    const stored = entries.getUint32(at + 40, true);
    if (!Number.isSafeInteger(offset) || offset < HEAD_MAGIC.length || offset + stored > indexAt)
      return undefined;
    slots.push({
      hash: Buffer.from(index.subarray(at, at + 32)).toString('hex'),
      offset,
      stored,
      size: entries.getUint32(at + 44, true),
      compressed: (entries.getUint32(at + 48, true) & FLAG_COMPRESSED) !== 0,
    });
  }
  return slots;
}
