/**
 * Seeded randomness for tests. Every test that draws random data takes its seed from here and puts
 * it in its failure messages, so a failing run can be replayed with `TEST_SEED=<seed> bun test ...`.
 */

/** The seed of this run: `TEST_SEED` when set (to replay a failure), else a fresh one. */
export function testSeed(): number {
  const fromEnv = process.env.TEST_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new Error(`TEST_SEED must be an integer in [0, 2^32), got ${fromEnv}`);
    return seed;
  }
  return Math.floor(Math.random() * 0x100000000);
}

/** A small, fast, deterministic generator (mulberry32). The same seed gives the same sequence everywhere. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor((this.nextUint32() / 0x100000000) * (max - min + 1));
  }

  /** `length` uniform random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      let word = this.nextUint32();
      for (let j = i; j < Math.min(i + 4, length); j++) {
        out[j] = word & 0xff;
        word >>>= 8;
      }
    }
    return out;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.nextUint32() / 0x100000000 < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }
}
