import { describe, expect, it } from 'bun:test';
import { compress } from '../../src/core/compress.ts';
import { isSingleZstdFrame } from '../../src/core/zstd-frame.ts';
import { concat } from '../helpers/fuzz/mutate.ts';

const text = (n: number) =>
  new TextEncoder().encode(Array.from({ length: n }, (_, i) => `line ${i * 7919}`).join('\n'));
/** A skippable frame (RFC 8878 3.1.2): magic 0x184D2A50, a 4-byte length, then that many bytes. */
const skippable = Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 0xaa, 0xbb);

describe('isSingleZstdFrame', () => {
  it('takes the frames zstd makes: small, multi-block, run-length', () => {
    expect(isSingleZstdFrame(compress(text(10)))).toBe(true);
    expect(isSingleZstdFrame(compress(text(200_000)))).toBe(true);
    expect(isSingleZstdFrame(compress(crypto.getRandomValues(new Uint8Array(300_000))))).toBe(true);
    expect(isSingleZstdFrame(compress(new Uint8Array(1_000_000).fill(7)))).toBe(true);
  });

  it('refuses anything before, after or beside the frame, and a cut frame', () => {
    const frame = compress(text(1000));
    expect(isSingleZstdFrame(concat(frame, Uint8Array.of(0)))).toBe(false);
    expect(isSingleZstdFrame(concat(skippable, frame))).toBe(false);
    expect(isSingleZstdFrame(concat(frame, skippable))).toBe(false);
    expect(isSingleZstdFrame(concat(frame, frame))).toBe(false);
    expect(isSingleZstdFrame(frame.subarray(0, frame.length - 1))).toBe(false);
    expect(isSingleZstdFrame(new Uint8Array(0))).toBe(false);
    expect(isSingleZstdFrame(new TextEncoder().encode('not a frame at all'))).toBe(false);
  });

  it('refuses a frame that names a dictionary or sets the reserved bit', () => {
    const frame = compress(text(100));
    const withDictionaryFlag = frame.slice();
    withDictionaryFlag[4]! |= 1;
    expect(isSingleZstdFrame(withDictionaryFlag)).toBe(false);
    const reserved = frame.slice();
    reserved[4]! |= 1 << 3;
    expect(isSingleZstdFrame(reserved)).toBe(false);
  });
});
