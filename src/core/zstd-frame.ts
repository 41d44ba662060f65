/**
 * The shape of a zstd frame (RFC 8878), read without opening it: whether a payload is exactly one
 * frame, with no skippable frame before it and nothing after it. A hub keeps a pushed frame only in
 * this shape, so that what it later sends every agent fetching the chunk is no more than the frame
 * its own decoder opened, and nothing a lenient decoder let through for a stricter one to refuse.
 */

const FRAME_MAGIC = 0xfd2fb528;
/** Block types: raw, run-length, compressed; 3 is reserved. */
const BLOCK_RLE = 1;
const BLOCK_RESERVED = 3;

/**
 * True when `payload` is one zstd frame that ends where the payload ends and names no dictionary.
 *
 * @example isSingleZstdFrame(compress(bytes)) // true
 */
export function isSingleZstdFrame(payload: Uint8Array): boolean {
  const at = (i: number) => payload[i] ?? 0;
  if (payload.length < 6) return false;
  const magic = (at(0) | (at(1) << 8) | (at(2) << 16) | (at(3) << 24)) >>> 0;
  if (magic !== FRAME_MAGIC) return false;
  const descriptor = at(4);
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const reserved = (descriptor >> 3) & 1;
  const checksum = (descriptor >> 2) & 1;
  const dictionaryFlag = descriptor & 3;
  if (reserved !== 0 || dictionaryFlag !== 0) return false;
  const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag]!;
  let offset = 5 + (singleSegment ? 0 : 1) + contentSizeBytes;
  for (;;) {
    if (offset + 3 > payload.length) return false;
    const header = at(offset) | (at(offset + 1) << 8) | (at(offset + 2) << 16);
    offset += 3;
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === BLOCK_RESERVED) return false;
    offset += type === BLOCK_RLE ? 1 : size;
    if (last) break;
  }
  return offset + (checksum ? 4 : 0) === payload.length;
}
