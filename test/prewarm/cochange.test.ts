import { describe, expect, it } from 'bun:test';
import { createCoChangeModel, createRecencyModel } from '../../src/prewarm/cochange.ts';

describe('createCoChangeModel', () => {
  it('predicts the file that changed with the given one', () => {
    const model = createCoChangeModel();
    model.learn(['a.ts', 'a.test.ts']);
    model.learn(['b.ts']);
    expect(model.predict(['a.ts'], 10).map((p) => p.file)).toEqual(['a.test.ts']);
  });

  it('computes support and confidence as ROSE defines them', () => {
    const model = createCoChangeModel({ recencyWeight: 0 });
    model.learn(['a', 'b']);
    model.learn(['a', 'b']);
    model.learn(['a', 'c']);
    model.learn(['a']);
    const [first, second] = model.predict(['a'], 10);
    expect(first).toEqual({ file: 'b', score: 0.5, support: 2, confidence: 0.5 });
    expect(second).toEqual({ file: 'c', score: 0.25, support: 1, confidence: 0.25 });
  });

  it('ranks a recent partner above an old one of equal support when recency is weighted', () => {
    const model = createCoChangeModel({ recencyWeight: 0.5, halfLifeCommits: 2 });
    model.learn(['a', 'old']);
    for (let i = 0; i < 5; i++) model.learn([`noise${i}`]);
    model.learn(['a', 'new']);
    expect(model.predict(['a'], 10).map((p) => p.file)).toEqual(['new', 'old']);
  });

  it('without recency, breaks equal scores by the file name', () => {
    const model = createCoChangeModel({ recencyWeight: 0 });
    model.learn(['a', 'old']);
    model.learn(['a', 'new']);
    expect(model.predict(['a'], 10).map((p) => p.file)).toEqual(['new', 'old']);
  });

  it('skips commits with more files than the limit, and says so', () => {
    const model = createCoChangeModel({ maxFilesPerCommit: 3 });
    expect(model.learn(['a', 'b', 'c', 'd'])).toBe(false);
    expect(model.learn(['a', 'b'])).toBe(true);
    expect(model.predict(['a'], 10).map((p) => p.file)).toEqual(['b']);
  });

  it('drops rules below the minimum support and confidence', () => {
    const model = createCoChangeModel({ minSupport: 2, minConfidence: 0.5 });
    model.learn(['a', 'b']);
    model.learn(['a', 'b']);
    model.learn(['a', 'c']);
    model.learn(['x', 'y']);
    model.learn(['x']);
    model.learn(['x']);
    model.learn(['x']);
    model.learn(['x', 'y']);
    expect(model.predict(['a'], 10).map((p) => p.file)).toEqual(['b']);
    expect(model.predict(['x'], 10)).toEqual([]);
  });

  it('never predicts a file that is already changed, and caps the list', () => {
    const model = createCoChangeModel();
    model.learn(['a', 'b', 'c', 'd', 'e']);
    const predicted = model.predict(['a', 'b'], 2).map((p) => p.file);
    expect(predicted).toHaveLength(2);
    expect(predicted).not.toContain('a');
    expect(predicted).not.toContain('b');
  });

  it('uses the best rule over all changed files', () => {
    const model = createCoChangeModel({ recencyWeight: 0 });
    model.learn(['a', 't']);
    model.learn(['a']);
    model.learn(['b', 't']);
    expect(model.predict(['a', 'b'], 10)[0]).toMatchObject({ file: 't', confidence: 1 });
  });

  it('knows nothing about a file it never saw', () => {
    const model = createCoChangeModel();
    model.learn(['a', 'b']);
    expect(model.predict(['unknown'], 10)).toEqual([]);
  });
});

describe('createRecencyModel', () => {
  it('predicts the most recently changed files first, without the given ones', () => {
    const model = createRecencyModel();
    model.learn(['old']);
    model.learn(['mid', 'given']);
    model.learn(['new']);
    expect(model.predict(['given'], 10).map((p) => p.file)).toEqual(['new', 'mid', 'old']);
  });

  it('lists each file once and stops at the limit', () => {
    const model = createRecencyModel();
    model.learn(['a', 'b']);
    model.learn(['a']);
    model.learn(['c']);
    expect(model.predict([], 2).map((p) => p.file)).toEqual(['c', 'a']);
  });
});
