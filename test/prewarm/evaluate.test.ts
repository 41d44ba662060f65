import { describe, expect, it } from 'bun:test';
import { createCoChangeModel, createRecencyModel } from '../../src/prewarm/cochange.ts';
import { replay } from '../../src/prewarm/evaluate.ts';

describe('replay', () => {
  it('queries each commit before learning it, so the first pair is a miss and the second a hit', () => {
    const score = replay(
      [
        ['a', 'b'],
        ['a', 'b'],
      ],
      createCoChangeModel(),
    );
    expect(score.queries).toBe(2);
    expect(score.hitRate).toBe(0.5);
    expect(score.recall).toBe(0.5);
    expect(score.coverage).toBe(0.5);
    expect(score.precision).toBe(1);
  });

  it('gives the predictor only the first file and scores against the rest', () => {
    const history = [['a', 'b', 'c'], ['x'], ['a', 'b', 'c']];
    const score = replay(history, createCoChangeModel());
    // Third commit: given a, predicts b and c, both correct.
    expect(score.queries).toBe(2);
    expect(score.recall).toBe(0.5);
    expect(score.precision).toBe(1);
  });

  it('learns but does not query single-file commits', () => {
    const score = replay([['a'], ['b'], ['c']], createRecencyModel());
    expect(score.commitsLearned).toBe(3);
    expect(score.queries).toBe(0);
  });

  it('neither learns nor queries commits the predictor refuses as too large', () => {
    const big = Array.from({ length: 5 }, (_, i) => `f${i}`);
    const score = replay([big, ['f0', 'f1']], createCoChangeModel({ maxFilesPerCommit: 4 }));
    expect(score.commitsLearned).toBe(1);
    expect(score.hitRate).toBe(0);
  });

  it('counts precision over suggestions made, including wrong ones', () => {
    const score = replay(
      [
        ['q', 'z'],
        ['a', 'b'],
        ['a', 'c'],
      ],
      createRecencyModel(),
      { limit: 10 },
    );
    // Query 3 (given a): recency suggests b, q, z; the answer is c, so nothing is correct.
    expect(score.precision).toBe(0);
    expect(score.coverage).toBe(2 / 3);
  });
});
