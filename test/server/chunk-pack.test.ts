/**
 * The pack file format: what encodePack writes, indexLocation and decodeIndex read back, and
 * nothing that does not check (a truncated pack, a changed index) is read as slots.
 */
import { describe, expect, it } from 'bun:test';
import { sha256Hex } from '../../src/core/hash.ts';
import {
  decodeIndex,
  encodePack,
  INDEX_ENTRY_BYTES,
  indexLocation,
  type PackInput,
  TRAILER_BYTES,
} from '../../src/server/store/chunk-pack.ts';

function input(text: string, compressed = false): PackInput {
  const file = new TextEncoder().encode(text);
  return { hash: sha256Hex(file), file, compressed, size: compressed ? file.length * 3 : file.length };
}

function joined(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** The slots read back from a whole pack, as pack-shelf.ts reads them. */
function slotsOf(pack: Uint8Array) {
  const location = indexLocation(pack.subarray(pack.length - TRAILER_BYTES), pack.length);
  if (!location) return undefined;
  return decodeIndex(pack.subarray(location.at, pack.length - TRAILER_BYTES), location.digest, location.at);
}

describe('chunk packs', () => {
  it('keep each chunk as its own file would hold it, found again through the index', () => {
    const chunks = [input('first chunk'), input('second, kept compressed', true), input('')];
    const encoded = encodePack(chunks);
    const pack = joined(encoded.parts);
    expect(pack.length).toBe(encoded.length);
    const slots = slotsOf(pack);
    expect(slots).toEqual(encoded.slots);
    for (const [i, slot] of slots!.entries()) {
      expect(slot.hash).toBe(chunks[i]!.hash);
      expect(slot.size).toBe(chunks[i]!.size);
      expect(slot.compressed).toBe(chunks[i]!.compressed);
      expect(pack.subarray(slot.offset, slot.offset + slot.stored)).toEqual(chunks[i]!.file);
    }
  });

  it('are not read when cut short, as a copy stopped midway leaves them', () => {
    const pack = joined(encodePack([input('a'), input('b')]).parts);
    for (const cut of [1, INDEX_ENTRY_BYTES, TRAILER_BYTES + 3])
      expect(slotsOf(pack.subarray(0, pack.length - cut))).toBeUndefined();
  });

  it('are not read when the index changed (a flipped byte in an offset)', () => {
    const pack = joined(encodePack([input('a'), input('b')]).parts);
    const location = indexLocation(pack.subarray(pack.length - TRAILER_BYTES), pack.length)!;
    pack[location.at + 33]! ^= 0x40;
    expect(slotsOf(pack)).toBeUndefined();
  });

  it('are not read when the trailer points the index elsewhere', () => {
    const pack = joined(encodePack([input('a')]).parts);
    const trailer = new DataView(pack.buffer, pack.length - TRAILER_BYTES);
    trailer.setFloat64(36, 2, true);
    expect(slotsOf(pack)).toBeUndefined();
  });

  it('refuse a slot that reaches past the chunks into the index, even under a matching digest', () => {
    const index = new Uint8Array(INDEX_ENTRY_BYTES);
    new DataView(index.buffer).setFloat64(32, 8, true);
    new DataView(index.buffer).setUint32(40, 100, true);
    const digest = new Uint8Array(Buffer.from(sha256Hex(index), 'hex'));
    expect(decodeIndex(index, digest, 50)).toBeUndefined();
    expect(decodeIndex(index, digest, 108)).toHaveLength(1);
  });
});
