/**
 * ChunkSet: membership of chunk hashes kept as 52-bit prefixes (anything else kept whole).
 */
import { describe, expect, it } from 'bun:test';
import { ChunkSet } from '../../src/core/chunk-set.ts';
import { sha256Hex } from '../../src/core/hash.ts';

const hashOf = (text: string) => sha256Hex(new TextEncoder().encode(text));

describe('ChunkSet', () => {
  it('holds the hashes added and no others', () => {
    const set = new ChunkSet();
    const added = Array.from({ length: 1000 }, (_, i) => hashOf(`added ${i}`));
    for (const hash of added) set.add(hash);
    expect(set.size).toBe(1000);
    for (const hash of added) expect(set.has(hash)).toBe(true);
    for (let i = 0; i < 1000; i++) expect(set.has(hashOf(`never added ${i}`))).toBe(false);
  });

  it('tells hashes apart by their first 13 hex digits, the last of them included', () => {
    const set = new ChunkSet();
    const hash = hashOf('one');
    set.add(hash);
    const flipped = (at: number) => hash.slice(0, at) + (hash[at] === '0' ? '1' : '0') + hash.slice(at + 1);
    expect(set.has(flipped(12))).toBe(false);
    expect(set.has(flipped(0))).toBe(false);
    // Past the prefix: taken for the same chunk (the hub's missing-chunks answer corrects that).
    expect(set.has(flipped(13))).toBe(true);
  });

  it('keeps whole what is not a SHA-256 in hex', () => {
    const set = new ChunkSet();
    set.add('not-a-hash');
    set.add(hashOf('x').toUpperCase());
    expect(set.has('not-a-hash')).toBe(true);
    expect(set.has('not-a-has')).toBe(false);
    expect(set.has(hashOf('x').toUpperCase())).toBe(true);
    expect(set.has(hashOf('x'))).toBe(false);
    expect(set.size).toBe(2);
  });
});
