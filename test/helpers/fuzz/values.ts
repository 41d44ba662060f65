/**
 * Hostile JSON values for the protocol fuzzer: wrong types, edge numbers, strings at and past
 * their bounds, keys an object has by inheritance, huge lists and deep nesting.
 */
import type { Random } from '../random.ts';
import { hostilePath } from './paths.ts';

/** Keys an object has by inheritance, and other names a careless lookup would trip on. */
export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  '',
  '~hub',
  'ABCDEF12',
  '0',
  'then',
];

export const DEEP_MARK = '@@deep@@';

/**
 * Serialises a (mutated) JSON value, putting nesting too deep to build as objects where
 * `hostileValue` left its mark: `[[[...]]]` or `{"a":{"a":...}}` thousands of levels deep.
 */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value).replace(
    new RegExp(`"${DEEP_MARK}(\\d+)${DEEP_MARK}"`, 'g'),
    (_, n: string) => {
      const depth = Number(n);
      return depth % 2
        ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
        : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    },
  );
}

/**
 * A value that is wrong somewhere: types, edges, sizes, shapes. One in fifty is large (past a
 * list bound, a megabyte string, nesting 100,000 deep): enough to reach every bound, few enough
 * that the run stays quick.
 */
export function hostileValue(rng: Random): unknown {
  if (rng.chance(0.02)) return largeValue(rng);
  return rng.pick<() => unknown>([
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1.5,
    () => -0,
    () => 2 ** 53,
    () => 2 ** 53 + 2,
    () => Number.MAX_SAFE_INTEGER,
    () => 1e308,
    () => 4294967296,
    () => '',
    () => '0',
    () => 'a'.repeat(rng.pick([64, 65, 256, 257, 500, 501, 4097])),
    () => 'f'.repeat(64),
    () => 'F'.repeat(64),
    () => 'g'.repeat(64),
    () => 'a'.repeat(63),
    () => hostilePath(rng),
    () => [],
    () => {
      // Nesting a recursive walk can take; deeper nesting goes in as text (see stringifyJson).
      let value: unknown = 1;
      for (let i = rng.pick([64, 1000]); i > 0; i--) value = i % 2 ? [value] : { a: value };
      return value;
    },
    () => `${DEEP_MARK}5001${DEEP_MARK}`,
    () => Array.from({ length: 1001 }, () => 'f'.repeat(64)),
    () => Array.from({ length: rng.int(2, 40) }, () => null),
    () => ({}),
    () => Object.fromEntries(HOSTILE_KEYS.map((k) => [k, 1])),
    () => ({ length: 1e9 }),
    // A length no comparison can read: its toString and valueOf are no functions.
    () => ({ length: Object.fromEntries(HOSTILE_KEYS.map((k) => [k, 1])) }),
  ])();
}

function largeValue(rng: Random): unknown {
  return rng.pick<() => unknown>([
    () => 'x'.repeat(rng.pick([70_000, 70_000, 1_100_000])),
    () => `${DEEP_MARK}100000${DEEP_MARK}`,
    () => `${DEEP_MARK}100001${DEEP_MARK}`,
    () => Array.from({ length: 10_001 }, () => 'f'.repeat(64)),
  ])();
}
