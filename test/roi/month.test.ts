import { describe, expect, it } from 'bun:test';
import { daysOf, monthWindow, previousMonth } from '../../src/roi/month.ts';

describe('monthWindow', () => {
  it('spans the UTC month, end exclusive', () => {
    const m = monthWindow('2026-10');
    expect(m.start.toISOString()).toBe('2026-10-01T00:00:00.000Z');
    expect(m.end.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(m.days).toBe(31);
  });

  it('knows February of a leap year', () => {
    expect(monthWindow('2028-02').days).toBe(29);
    expect(monthWindow('2026-02').days).toBe(28);
  });

  it('rejects anything but YYYY-MM', () => {
    for (const bad of ['2026-13', '2026-1', '26-10', '2026-10-01', '']) {
      expect(() => monthWindow(bad)).toThrow('is not in the form YYYY-MM');
    }
  });
});

describe('previousMonth', () => {
  it('is the month before, in UTC, across a year boundary', () => {
    expect(previousMonth(new Date('2027-01-01T00:30:00Z')).label).toBe('2026-12');
    // 23:30 on 31 October in New York is already 1 November in UTC.
    expect(previousMonth(new Date('2026-11-01T03:30:00Z')).label).toBe('2026-10');
  });
});

describe('daysOf', () => {
  it('lists every UTC day of the month', () => {
    const days = daysOf(monthWindow('2026-02'));
    expect(days).toHaveLength(28);
    expect(days[0]).toBe('2026-02-01');
    expect(days.at(-1)).toBe('2026-02-28');
  });
});
