import { describe, expect, it } from 'bun:test';
import { computeRoi } from '../../src/roi/model.ts';
import { articleConfig, emptyMonth, measuredMonth } from './fixtures.ts';

// Every expected number below was worked out by hand from the inputs, not by calling the model.

describe('computeRoi with the article example (after = 7.59 min/day from the config)', () => {
  const roi = computeRoi(articleConfig, emptyMonth);

  it('saves 47 x (23 - 7.59) x 22 / 60 = 15,933.94 / 60 = 265.5656... engineer-hours', () => {
    expect(roi.hoursSavedPerMonth).toEqual({ value: expect.closeTo(265.565667, 5) });
  });

  it('values them at 265.5656... h x $50 = $13,278.2833...', () => {
    expect(roi.productivityValueMonthly).toEqual({ value: expect.closeTo(13278.283333, 5) });
  });

  it('saves $3,174 - $1,366 = $1,808 of infrastructure', () => {
    expect(roi.infraSavingMonthly).toBe(1808);
  });

  it('nets $13,278.2833... + $1,808 = $15,086.2833... a month', () => {
    expect(roi.netMonthlyValue).toEqual({ value: expect.closeTo(15086.283333, 5) });
  });

  it('takes the after-figure from the config and says so, even when nothing was measured', () => {
    expect(roi.minutesLostAfter).toEqual({ value: 7.59, source: 'config' });
  });

  it('writes each computation out with its numbers', () => {
    expect(roi.formulas).toEqual([
      'hours saved = 47 engineers x (23 - 7.59) min/day x 22 days / 60 = 265.57 h',
      'productivity value = 47 engineers x (23 - 7.59) min/day x 22 days / 60 x $50.00/h = $13,278.28',
      'infrastructure saving = $3,174.00 - $1,366.00 = $1,808.00',
      'net monthly value = $13,278.28 + $1,808.00 = $15,086.28',
    ]);
  });
});

describe('computeRoi against the article’s own totals', () => {
  it('finds 47 x 2.03 h/day x 22 days x $50/h = $104,951, not the $10,515.80 the article prints', () => {
    // 2.03 h/day = 121.8 min/day saved: 47 x 121.8 = 5,724.6; x 22 = 125,941.2 min = 2,099.02 h.
    const config = {
      ...articleConfig,
      minutesLostPerEngineerPerDayBefore: 121.8,
      minutesLostPerEngineerPerDayAfter: 0,
    };
    const roi = computeRoi(config, emptyMonth);
    expect(roi.hoursSavedPerMonth).toEqual({ value: expect.closeTo(2099.02, 6) });
    expect(roi.productivityValueMonthly).toEqual({ value: expect.closeTo(104951, 6) });
  });

  it('gives 47 x 19 x 22 / 60 = 19,646 / 60 = 327.43 h when 4 min/day remain lost', () => {
    const roi = computeRoi({ ...articleConfig, minutesLostPerEngineerPerDayAfter: 4 }, emptyMonth);
    expect(roi.hoursSavedPerMonth).toEqual({ value: expect.closeTo(327.433333, 5) });
    expect(roi.productivityValueMonthly).toEqual({ value: expect.closeTo(16371.666667, 5) });
    expect(roi.netMonthlyValue).toEqual({ value: expect.closeTo(18179.666667, 5) });
    expect(roi.formulas[0]).toBe('hours saved = 47 engineers x (23 - 4) min/day x 22 days / 60 = 327.43 h');
  });
});

describe('computeRoi deriving the after-figure from measurements', () => {
  const { minutesLostPerEngineerPerDayAfter: _, ...derivedConfig } = articleConfig;
  const roi = computeRoi(derivedConfig, measuredMonth);

  it('counts 206,800 ops x 0.012 s / 1,034 engineer-days / 60 = 0.04 min/day of waiting', () => {
    expect(roi.formulas[0]).toBe(
      'sync wait after = 206,800 ops x 0.012 s (p95) / (47 engineers x 22 days) / 60 = 0.04 min/day',
    );
  });

  it('counts 517 conflicts x 5 min / 1,034 engineer-days = 2.5 min/day of conflict handling', () => {
    expect(roi.formulas[1]).toBe(
      'conflict time after = 517 conflicts x 5 min / (47 engineers x 22 days) = 2.5 min/day',
    );
  });

  it('adds them to 2.54 min/day and names the measurements as its source', () => {
    expect(roi.formulas[2]).toBe('minutes lost after = 0.04 + 2.5 = 2.54 min/day');
    expect(roi.minutesLostAfter).toEqual({
      value: expect.closeTo(2.54, 9),
      source: 'derived from measured sync operations, p95 sync latency and conflicts',
    });
  });

  it('saves 47 x (23 - 2.54) x 22 / 60 = 21,155.64 / 60 = 352.594 h, worth $17,629.70, net $19,437.70', () => {
    expect(roi.hoursSavedPerMonth).toEqual({ value: expect.closeTo(352.594, 6) });
    expect(roi.productivityValueMonthly).toEqual({ value: expect.closeTo(17629.7, 6) });
    expect(roi.netMonthlyValue).toEqual({ value: expect.closeTo(19437.7, 6) });
    expect(roi.formulas[3]).toBe(
      'hours saved = 47 engineers x (23 - 2.54) min/day x 22 days / 60 = 352.59 h',
    );
  });

  it('reports no data, not zero, when a measurement it needs is missing', () => {
    const empty = computeRoi(derivedConfig, emptyMonth);
    expect(empty.minutesLostAfter).toMatchObject({ noData: true });
    expect(empty.hoursSavedPerMonth).toMatchObject({ noData: true });
    expect(empty.productivityValueMonthly).toMatchObject({ noData: true });
    expect(empty.netMonthlyValue).toMatchObject({ noData: true });
    expect(empty.formulas[0]).toBe('minutes lost after = no data (sync operations: no samples in 2026-10)');
  });

  it('still computes the infrastructure saving when the productivity side has no data', () => {
    const empty = computeRoi(derivedConfig, emptyMonth);
    expect(empty.infraSavingMonthly).toBe(1808);
    expect(empty.formulas).toContain('infrastructure saving = $3,174.00 - $1,366.00 = $1,808.00');
  });
});

describe('computeRoi with costs that went up', () => {
  it('subtracts a negative infrastructure saving in the net line', () => {
    const config = { ...articleConfig, infraCostBeforeMonthly: 1000, infraCostAfterMonthly: 1500 };
    const roi = computeRoi(config, emptyMonth);
    expect(roi.infraSavingMonthly).toBe(-500);
    // $13,278.2833... - $500 = $12,778.2833...
    expect(roi.formulas.at(-1)).toBe('net monthly value = $13,278.28 - $500.00 = $12,778.28');
  });
});
