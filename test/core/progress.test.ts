import { describe, expect, it } from 'bun:test';
import { describeProgress, formatDuration } from '../../src/core/progress.ts';

const counts = {
  label: 'initial sync',
  filesTotal: 200,
  filesDone: 50,
  bytesTotal: 4e6,
  bytesDone: 1e6,
  startedMs: 0,
};

describe('describeProgress', () => {
  it('gives the rate and the time left from the bytes', () => {
    const report = describeProgress(counts, 2000);
    expect(report.bytesPerSecond).toBe(500_000);
    expect(report.secondsLeft).toBe(6);
    expect(report.line).toBe('initial sync: 50/200 files, 1.0/4.0 MB, 0.5 MB/s, 6 s left');
  });

  it('goes by files when small files make the bytes quick and the files slow', () => {
    const report = describeProgress({ ...counts, bytesTotal: 1.1e6 }, 2000);
    // Bytes alone would say 0.2 s; 150 files at 25 per second take 6 s.
    expect(report.secondsLeft).toBe(6);
  });

  it('shows no time left before there is a rate to go by', () => {
    expect(describeProgress(counts, 100).secondsLeft).toBeUndefined();
    expect(describeProgress({ ...counts, filesDone: 0, bytesDone: 0 }, 5000).secondsLeft).toBeUndefined();
    expect(describeProgress(counts, 100).line).not.toContain('left');
  });

  it('says zero left when done', () => {
    expect(describeProgress({ ...counts, filesDone: 200, bytesDone: 4e6 }, 4000).secondsLeft).toBe(0);
  });
});

describe('formatDuration', () => {
  const table: [number, string][] = [
    [0, '0 s'],
    [59, '59 s'],
    [185, '3 min 5 s'],
    [7800, '2 h 10 min'],
  ];
  for (const [seconds, text] of table)
    it(`${seconds} s is "${text}"`, () => expect(formatDuration(seconds)).toBe(text));
});
