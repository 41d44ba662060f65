import { describe, expect, it } from 'bun:test';
import {
  compareVectors,
  dominatesOrEquals,
  incrementVector,
  mergeVectors,
  type VectorOrder,
  type VersionVector,
} from '../../src/core/vector.ts';

const compareCases: [name: string, a: VersionVector, b: VersionVector, order: VectorOrder][] = [
  ['two empty vectors', {}, {}, 'equal'],
  ['identical counters', { a: 2, b: 1 }, { a: 2, b: 1 }, 'equal'],
  ['an explicit 0 against an absent id', { a: 1, b: 0 }, { a: 1 }, 'equal'],
  ['empty against any edit', {}, { a: 1 }, 'before'],
  ['one counter smaller, the rest equal', { a: 1, b: 3 }, { a: 2, b: 3 }, 'before'],
  ['an id a has never seen', { a: 1 }, { a: 1, b: 1 }, 'before'],
  ['any edit against empty', { a: 1 }, {}, 'after'],
  ['one counter bigger, the rest equal', { a: 5, b: 3 }, { a: 2, b: 3 }, 'after'],
  ['an id b has never seen', { a: 1, c: 4 }, { a: 1 }, 'after'],
  ['each ahead on its own id', { a: 2, b: 1 }, { a: 1, b: 2 }, 'concurrent'],
  ['disjoint ids', { a: 1 }, { b: 1 }, 'concurrent'],
  ['ahead on one id, behind on an id it lacks', { a: 9 }, { a: 1, b: 1 }, 'concurrent'],
];

describe('compareVectors', () => {
  for (const [name, a, b, order] of compareCases) {
    it(`is '${order}' for ${name}`, () => {
      expect(compareVectors(a, b)).toBe(order);
    });
  }

  const mirror: Record<VectorOrder, VectorOrder> = {
    equal: 'equal',
    before: 'after',
    after: 'before',
    concurrent: 'concurrent',
  };
  for (const [name, a, b, order] of compareCases) {
    it(`is '${mirror[order]}' with the arguments swapped, for ${name}`, () => {
      expect(compareVectors(b, a)).toBe(mirror[order]);
    });
  }
});

describe('mergeVectors', () => {
  const cases: [name: string, a: VersionVector, b: VersionVector, merged: VersionVector][] = [
    ['two empty vectors', {}, {}, {}],
    ['empty and non-empty', {}, { a: 2 }, { a: 2 }],
    ['the larger counter of each id', { a: 3, b: 1 }, { a: 1, b: 4 }, { a: 3, b: 4 }],
    ['ids present on one side only', { a: 1 }, { b: 2 }, { a: 1, b: 2 }],
  ];
  for (const [name, a, b, merged] of cases) {
    it(`takes ${name}`, () => {
      expect(mergeVectors(a, b)).toEqual(merged);
    });
  }

  for (const [name, a, b] of compareCases) {
    it(`gives a vector that dominates or equals both inputs, for ${name}`, () => {
      const merged = mergeVectors(a, b);
      expect(dominatesOrEquals(merged, a)).toBe(true);
      expect(dominatesOrEquals(merged, b)).toBe(true);
    });
  }

  it('leaves its inputs unchanged', () => {
    const a = { a: 1 };
    const b = { a: 2, b: 1 };
    mergeVectors(a, b);
    expect(a).toEqual({ a: 1 });
    expect(b).toEqual({ a: 2, b: 1 });
  });
});

describe('incrementVector', () => {
  it('starts an absent id at 1', () => {
    expect(incrementVector({ a: 2 }, 'b')).toEqual({ a: 2, b: 1 });
  });

  it('raises an existing id by one and leaves the others', () => {
    expect(incrementVector({ a: 2, b: 5 }, 'a')).toEqual({ a: 3, b: 5 });
  });

  it('gives a vector strictly after the one it started from', () => {
    const v = { a: 2, b: 5 };
    expect(compareVectors(incrementVector(v, 'c'), v)).toBe('after');
  });

  it('makes two agents editing the same version concurrent', () => {
    const v = { a: 1 };
    expect(compareVectors(incrementVector(v, 'a'), incrementVector(v, 'b'))).toBe('concurrent');
  });

  it('leaves its input unchanged', () => {
    const v = { a: 1 };
    incrementVector(v, 'a');
    expect(v).toEqual({ a: 1 });
  });
});

describe('dominatesOrEquals', () => {
  const expected: Record<VectorOrder, boolean> = {
    equal: true,
    after: true,
    before: false,
    concurrent: false,
  };
  for (const [name, a, b, order] of compareCases) {
    it(`is ${expected[order]} when a is '${order}' b, for ${name}`, () => {
      expect(dominatesOrEquals(a, b)).toBe(expected[order]);
    });
  }
});

describe('ids that name Object.prototype members', () => {
  // The schema keeps such ids out of the hub, but the vector rules must not depend on that: an
  // inherited `constructor` read as a counter is a function, and Math.max of it is NaN (null in JSON).
  const proto = (n: number): VersionVector => JSON.parse(`{"__proto__": ${n}}`) as VersionVector;
  const cases: [name: string, run: () => unknown, expected: unknown][] = [
    [
      'merge keeps a constructor counter a number',
      () => mergeVectors({}, { constructor: 2 }),
      { constructor: 2 },
    ],
    [
      'merge of two constructor counters takes the larger',
      () => mergeVectors({ constructor: 3 }, { constructor: 2 }),
      { constructor: 3 },
    ],
    ['merge keeps __proto__ as an own id', () => Object.keys(mergeVectors(proto(1), {})), ['__proto__']],
    [
      'increment of an absent constructor starts at 1',
      () => incrementVector({}, 'constructor'),
      { constructor: 1 },
    ],
    [
      'increment of __proto__ makes an own id',
      () => Object.keys(incrementVector({}, '__proto__')),
      ['__proto__'],
    ],
    ['compare sees a constructor edit as newer', () => compareVectors({ constructor: 1 }, {}), 'after'],
    [
      'compare sees an empty vector before a toString edit',
      () => compareVectors({}, { toString: 1 }),
      'before',
    ],
    ['compare of equal __proto__ counters', () => compareVectors(proto(1), proto(1)), 'equal'],
  ];
  for (const [name, run, expected] of cases) {
    it(name, () => {
      const result = run();
      expect(JSON.parse(JSON.stringify(result))).toEqual(expected);
    });
  }
});
