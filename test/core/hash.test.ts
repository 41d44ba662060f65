import { describe, expect, it } from 'bun:test';
import { fileHashFromChunks, isSha256Hex, sha256Hex } from '../../src/core/hash.ts';

describe('sha256Hex', () => {
  const cases: [input: string, digest: string][] = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ];
  for (const [input, digest] of cases) {
    it(`gives the standard SHA-256 of ${JSON.stringify(input)}`, () => {
      expect(sha256Hex(new TextEncoder().encode(input))).toBe(digest);
    });
  }

  it('hashes only the bytes a subarray views, not the whole buffer behind it', () => {
    const buffer = new TextEncoder().encode('xxabcxx');
    expect(sha256Hex(buffer.subarray(2, 5))).toBe(sha256Hex(new TextEncoder().encode('abc')));
  });
});

describe('fileHashFromChunks', () => {
  const a = sha256Hex(new Uint8Array([1]));
  const b = sha256Hex(new Uint8Array([2]));

  it('gives a SHA-256-shaped hash even for an empty file', () => {
    expect(isSha256Hex(fileHashFromChunks([]))).toBe(true);
  });

  it('is not the plain hash of the empty byte string, so file and chunk names never mix', () => {
    expect(fileHashFromChunks([])).not.toBe(sha256Hex(new Uint8Array()));
  });

  it('is the same for the same chunk list', () => {
    expect(fileHashFromChunks([a, b])).toBe(fileHashFromChunks([a, b]));
  });

  it('depends on the order of the chunks', () => {
    expect(fileHashFromChunks([a, b])).not.toBe(fileHashFromChunks([b, a]));
  });

  it('differs between a one-chunk file and a two-chunk file', () => {
    expect(fileHashFromChunks([a])).not.toBe(fileHashFromChunks([a, a]));
  });
});

describe('isSha256Hex', () => {
  const cases: [name: string, value: string, ok: boolean][] = [
    ['a real digest', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', true],
    ['64 zeros', '0'.repeat(64), true],
    ['63 digits', '0'.repeat(63), false],
    ['65 digits', '0'.repeat(65), false],
    ['upper-case hex', 'A'.repeat(64), false],
    ['a non-hex letter', `${'0'.repeat(63)}g`, false],
    ['a trailing newline', `${'0'.repeat(64)}\n`, false],
    ['the empty string', '', false],
  ];
  for (const [name, value, ok] of cases) {
    it(`is ${ok} for ${name}`, () => {
      expect(isSha256Hex(value)).toBe(ok);
    });
  }
});
