import { describe, expect, it } from 'bun:test';
import {
  ABANDONED_AFTER_MS,
  isAbandonedTemp,
  PID_REUSED_AFTER_MS,
  PROBE_SUFFIX,
  parseTempName,
  type TempFacts,
  tempName,
  tempNameStem,
} from '../../src/core/temp-name.ts';

describe('parseTempName', () => {
  it('reads back the writer of a name it made', () => {
    expect(parseTempName(tempName(tempNameStem(48213, 'a1b2c3'), 37))).toEqual({
      pid: 48213,
      salt: 'a1b2c3',
    });
  });

  it("reads back the writer of the file-system probe's name", () => {
    expect(parseTempName(`${tempName(tempNameStem(48213, 'a1b2c3'), 37)}${PROBE_SUFFIX}`)).toEqual({
      pid: 48213,
      salt: 'a1b2c3',
    });
  });

  const notOurs = [
    '.warmsync-tmp-abc-a1b2c3-1.probe-e',
    '.warmsync-tmp-abc-a1b2c3-1.probe-\u00e9.bak',
    '.warmsync-tmp-notes.txt',
    '.warmsync-tmp-abc-a1b2c3',
    '.warmsync-tmp-abc-a1b2c3-',
    '.warmsync-tmp-abc-a1b2-1',
    '.warmsync-tmp-abc-A1B2C3-1',
    '.warmsync-tmp-abc-a1b2c3-1.bak',
    '.warmsync-tmp-0-a1b2c3-1',
    'x.warmsync-tmp-abc-a1b2c3-1',
    '.warmsync-tmpXabc-a1b2c3-1',
  ];
  for (const name of notOurs) {
    it(`is not the agent's: '${name}'`, () => {
      expect(parseTempName(name)).toBeUndefined();
    });
  }
});

describe('isAbandonedTemp', () => {
  const cases: [what: string, facts: TempFacts, abandoned: boolean][] = [
    ['dead writer, at start, fresh', { writerAlive: false, ageMs: 0, atStart: true }, true],
    [
      'dead writer, later, fresh (maybe another pid namespace)',
      { writerAlive: false, ageMs: 10, atStart: false },
      false,
    ],
    [
      'dead writer, later, a minute old',
      { writerAlive: false, ageMs: ABANDONED_AFTER_MS, atStart: false },
      true,
    ],
    ['live writer, at start', { writerAlive: true, ageMs: 0, atStart: true }, false],
    ['live writer, an hour old', { writerAlive: true, ageMs: 3_600_000, atStart: false }, false],
    [
      'live pid, a day old (a reused pid)',
      { writerAlive: true, ageMs: PID_REUSED_AFTER_MS, atStart: false },
      true,
    ],
  ];
  for (const [what, facts, abandoned] of cases) {
    it(`${abandoned ? 'removes' : 'keeps'}: ${what}`, () => {
      expect(isAbandonedTemp(facts)).toBe(abandoned);
    });
  }
});
