import { RoiError } from './errors.ts';

/** One calendar month in UTC: the period a report covers. */
export interface MonthWindow {
  /** `YYYY-MM`. */
  label: string;
  /** First instant of the month (inclusive). */
  start: Date;
  /** First instant of the next month (exclusive). */
  end: Date;
  /** Number of days in the month. */
  days: number;
}

const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * Parses `YYYY-MM` into its UTC window.
 *
 * @example
 * monthWindow('2026-02').days; // 28
 */
export function monthWindow(label: string): MonthWindow {
  const match = MONTH_PATTERN.exec(label);
  if (!match)
    throw new RoiError('month', `month '${label}' is not in the form YYYY-MM (for example 2026-10)`);
  const year = Number(match[1]);
  const monthIndex = Number(match[2]) - 1;
  const start = new Date(Date.UTC(year, monthIndex, 1));
  const end = new Date(Date.UTC(year, monthIndex + 1, 1));
  const days = Math.round((end.getTime() - start.getTime()) / 86_400_000);
  return { label, start, end, days };
}

/**
 * The calendar month before the one containing `now`, in UTC: the default period of a report, since
 * a scheduled run early in a month reports on the month that just ended.
 *
 * @example
 * previousMonth(new Date('2026-11-01T06:00:00Z')).label; // '2026-10'
 */
export function previousMonth(now: Date): MonthWindow {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const label = `${first.getUTCFullYear()}-${String(first.getUTCMonth() + 1).padStart(2, '0')}`;
  return monthWindow(label);
}

/** The UTC day labels of the month, `YYYY-MM-DD`, in order. */
export function daysOf(month: MonthWindow): string[] {
  return Array.from({ length: month.days }, (_, i) => `${month.label}-${String(i + 1).padStart(2, '0')}`);
}
