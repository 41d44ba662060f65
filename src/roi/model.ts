import type { RoiConfig } from './config.ts';
import { formatNumber, formatUsd } from './format.ts';
import { hasValue, type Measured } from './measured.ts';
import type { MonthMetrics } from './month-metrics.ts';

/** A computed figure, or the reason it could not be computed. */
export type Outcome = { value: number } | { noData: true; reason: string };

/** The ROI of one month, with the arithmetic written out. */
export interface RoiResult {
  /** Minutes lost per engineer per day with warmsync, from the config or derived from measurements. */
  minutesLostAfter: Measured;
  /** Engineer-hours saved in the month. */
  hoursSavedPerMonth: Outcome;
  /** Hours saved times the blended hourly rate, USD. */
  productivityValueMonthly: Outcome;
  /** Infrastructure cost before minus after, USD; positive means warmsync costs less. */
  infraSavingMonthly: number;
  /** Productivity value plus infrastructure saving, USD. */
  netMonthlyValue: Outcome;
  /** One line per computation, with the actual numbers, so a reader can check each by hand. */
  formulas: string[];
}

const n = (value: number) => formatNumber(value, 4);
const result = (value: number) => formatNumber(value, 2);
/** `+ $5.00` or `- $5.00`, so that a negative term reads naturally in a sum. */
const plus = (value: number) => (value < 0 ? `- ${formatUsd(-value)}` : `+ ${formatUsd(value)}`);

/**
 * The minutes lost per engineer per day after warmsync. Taken from the config when given there;
 * otherwise derived from the month's measurements as
 *   sync wait     = sync operations x p95 sync latency / (engineers x working days) / 60
 *   conflict time = conflicts x minutesPerConflict / (engineers x working days)
 * Using p95 for every operation overstates the wait (most syncs are faster), so the derived value
 * errs towards less saving. It counts only what warmsync measures: waits on sync and conflicts.
 */
function minutesLostAfter(config: RoiConfig, metrics: MonthMetrics, formulas: string[]): Measured {
  const given = config.minutesLostPerEngineerPerDayAfter;
  if (given !== undefined) return { value: given, source: 'config' };

  const source = 'derived from measured sync operations, p95 sync latency and conflicts';
  const ops = metrics.syncOperations;
  const p95 = metrics.syncLatencyP95Seconds;
  const conflicts = metrics.syncConflicts;
  const missing = (name: string, m: { reason: string }): Measured => {
    formulas.push(`minutes lost after = no data (${name}: ${m.reason})`);
    return { noData: true, source, reason: `${name}: ${m.reason}` };
  };
  if (!hasValue(ops)) return missing('sync operations', ops);
  if (!hasValue(p95)) return missing('p95 sync latency', p95);
  if (!hasValue(conflicts)) return missing('sync conflicts', conflicts);

  // Invariant: the schema guarantees minutesPerConflict is set whenever the after-figure is absent.
  const perConflict = config.minutesPerConflict ?? 0;
  const engineerDays = config.engineers * config.workingDaysPerMonth;
  const waitMinutes = (ops.value * p95.value) / engineerDays / 60;
  const conflictMinutes = (conflicts.value * perConflict) / engineerDays;
  const total = waitMinutes + conflictMinutes;
  const days = `(${config.engineers} engineers x ${n(config.workingDaysPerMonth)} days)`;
  formulas.push(
    `sync wait after = ${n(ops.value)} ops x ${n(p95.value)} s (p95) / ${days} / 60 = ${n(waitMinutes)} min/day`,
    `conflict time after = ${n(conflicts.value)} conflicts x ${n(perConflict)} min / ${days} = ${n(conflictMinutes)} min/day`,
    `minutes lost after = ${n(waitMinutes)} + ${n(conflictMinutes)} = ${n(total)} min/day`,
  );
  return { value: total, source };
}

/**
 * Computes the month's ROI from the config and the measurements. Pure arithmetic: no I/O, no
 * runtime-specific API, so the same code runs in the CLI (Bun) and in the Action (Node).
 * Nothing is rounded here; rounding happens only when a number is displayed.
 *
 * @example
 * const roi = computeRoi(config, metrics);
 * roi.formulas[0]; // 'hours saved = 47 engineers x (23 - 7.59) min/day x 22 days / 60 = 265.57 h'
 */
export function computeRoi(config: RoiConfig, metrics: MonthMetrics): RoiResult {
  const formulas: string[] = [];
  const after = minutesLostAfter(config, metrics, formulas);
  const before = config.minutesLostPerEngineerPerDayBefore;
  const infraSaving = config.infraCostBeforeMonthly - config.infraCostAfterMonthly;

  let hoursSaved: Outcome;
  let productivity: Outcome;
  let net: Outcome;
  if (hasValue(after)) {
    const engineerMinutes = config.engineers * (before - after.value) * config.workingDaysPerMonth;
    const hours = engineerMinutes / 60;
    const money = hours * config.blendedHourlyRate;
    const factors = `${config.engineers} engineers x (${n(before)} - ${n(after.value)}) min/day x ${n(config.workingDaysPerMonth)} days / 60`;
    formulas.push(
      `hours saved = ${factors} = ${result(hours)} h`,
      `productivity value = ${factors} x ${formatUsd(config.blendedHourlyRate)}/h = ${formatUsd(money)}`,
    );
    hoursSaved = { value: hours };
    productivity = { value: money };
    net = { value: money + infraSaving };
  } else {
    const reason = `minutes lost after: ${after.reason}`;
    formulas.push(`hours saved = no data (${reason})`, `productivity value = no data (${reason})`);
    hoursSaved = { noData: true, reason };
    productivity = { noData: true, reason };
    net = { noData: true, reason };
  }
  formulas.push(
    `infrastructure saving = ${formatUsd(config.infraCostBeforeMonthly)} - ${formatUsd(config.infraCostAfterMonthly)} = ${formatUsd(infraSaving)}`,
  );
  if ('value' in net && 'value' in productivity) {
    formulas.push(
      `net monthly value = ${formatUsd(productivity.value)} ${plus(infraSaving)} = ${formatUsd(net.value)}`,
    );
  } else {
    formulas.push(`net monthly value = no data (${'reason' in net ? net.reason : ''})`);
  }
  return {
    minutesLostAfter: after,
    hoursSavedPerMonth: hoursSaved,
    productivityValueMonthly: productivity,
    infraSavingMonthly: infraSaving,
    netMonthlyValue: net,
    formulas,
  };
}
