import { describe, expect, it } from 'bun:test';
import { deflateRawSync } from 'node:zlib';
import { applyDelta, encodeDelta } from '../../src/core/delta.ts';
import { Random, testSeed } from '../helpers/random.ts';

const seed = testSeed();
const text = (s: string) => new TextEncoder().encode(s);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe('encodeDelta then applyDelta', () => {
  const cases: [name: string, base: string, next: string][] = [
    ['both empty', '', ''],
    ['empty base', '', 'hello'],
    ['empty next', 'hello', ''],
    ['identical', 'hello world', 'hello world'],
    ['an append', 'hello', 'hello world'],
    ['a prepend', 'world', 'hello world'],
    ['a truncation at the end', 'hello world', 'hello'],
    ['a truncation at the start', 'hello world', 'world'],
    ['a change in the middle', 'hello world', 'hello there world'],
    ['a deletion in the middle', 'hello there world', 'hello world'],
    ['a repeated byte grown by one', 'aaaa', 'aaaaa'],
    ['a repeated byte shrunk by one', 'aaaaa', 'aaaa'],
    ['nothing in common', 'abc', 'xyz'],
  ];
  for (const [name, base, next] of cases) {
    it(`rebuilds next exactly for ${name}`, () => {
      const rebuilt = applyDelta(text(base), encodeDelta(text(base), text(next)));
      expect(new TextDecoder().decode(rebuilt)).toBe(next);
    });
  }

  it('rebuilds next exactly for 500 random (base, next) pairs of every edit shape', () => {
    const random = new Random(seed);
    const shapes = [
      'random',
      'identical',
      'prefix-only',
      'suffix-only',
      'middle',
      'empty-base',
      'empty-next',
    ];
    for (let round = 0; round < 500; round++) {
      const shape = random.pick(shapes);
      const base = shape === 'empty-base' ? new Uint8Array() : random.bytes(random.int(0, 2000));
      let next: Uint8Array;
      const cut = random.int(0, base.length);
      const fresh = random.bytes(random.int(0, 300));
      if (shape === 'identical') next = base.slice();
      else if (shape === 'prefix-only') next = concat(fresh, base.subarray(cut));
      else if (shape === 'suffix-only') next = concat(base.subarray(0, cut), fresh);
      else if (shape === 'middle') {
        const end = random.int(cut, base.length);
        next = concat(base.subarray(0, cut), fresh, base.subarray(end));
      } else if (shape === 'empty-next') next = new Uint8Array();
      else next = random.bytes(random.int(0, 2000));
      const rebuilt = applyDelta(base, encodeDelta(base, next));
      expect(same(rebuilt, next), `seed ${seed}, round ${round}, shape ${shape}`).toBe(true);
    }
  });

  it('round-trips prefix and suffix lengths that need multi-byte varints', () => {
    const random = new Random(seed);
    const base = random.bytes(300_000);
    const next = concat(base.subarray(0, 150_000), text('edit'), base.subarray(150_010));
    expect(same(applyDelta(base, encodeDelta(base, next)), next), `seed ${seed}`).toBe(true);
  });
});

describe('encodeDelta size', () => {
  function tenKilobytesOfLines(random: Random): string[] {
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < 10 * 1024; i++) {
      const line = `const value${i} = compute(${random.int(0, 1_000_000)}, 'item-${i}');`;
      lines.push(line);
      size += line.length + 1;
    }
    return lines;
  }

  it('encodes a one-line edit in a 10 KB text in under 64 bytes', () => {
    const random = new Random(seed);
    const lines = tenKilobytesOfLines(random);
    const base = text(lines.join('\n'));
    const edited = [...lines];
    const at = random.int(1, lines.length - 2);
    edited[at] = `const value${at} = computeDifferently(42);`;
    const delta = encodeDelta(base, text(edited.join('\n')));
    expect(delta.length, `seed ${seed}, line ${at}`).toBeLessThan(64);
    expect(deflateRawSync(delta).length, `seed ${seed}, line ${at}`).toBeLessThan(80);
  });

  it('encodes identical inputs as the two length varints and nothing else', () => {
    const base = text('x'.repeat(100));
    expect([...encodeDelta(base, base)]).toEqual([100, 0]);
  });
});

describe('applyDelta on malformed deltas', () => {
  const base = text('hello world');
  const cases: [name: string, delta: number[]][] = [
    ['an empty delta', []],
    ['a prefix varint with no suffix varint', [3]],
    ['a truncated prefix varint', [0x80]],
    ['a varint longer than 8 bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0]],
    ['a prefix longer than the base', [12, 0]],
    ['a suffix longer than the base', [0, 12]],
    ['prefix plus suffix longer than the base', [6, 6]],
    ['a huge prefix', [0xff, 0xff, 0xff, 0xff, 0x0f, 0]],
  ];
  for (const [name, delta] of cases) {
    it(`throws RangeError for ${name}`, () => {
      expect(() => applyDelta(base, new Uint8Array(delta))).toThrow(RangeError);
    });
  }

  it('accepts prefix plus suffix equal to the base length', () => {
    expect(new TextDecoder().decode(applyDelta(base, new Uint8Array([5, 6])))).toBe('hello world');
  });
});
