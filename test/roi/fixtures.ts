import type { RoiConfig } from '../../src/roi/config.ts';
import { measured, noData } from '../../src/roi/measured.ts';
import type { MonthMetrics } from '../../src/roi/month-metrics.ts';

/** The article's example figures, as in src/roi/examples/roi-config.json. */
export const articleConfig: RoiConfig = {
  engineers: 47,
  blendedHourlyRate: 50,
  minutesLostPerEngineerPerDayBefore: 23,
  minutesLostPerEngineerPerDayAfter: 7.59,
  minutesPerConflict: 5,
  workingDaysPerMonth: 22,
  infraCostBeforeMonthly: 3174,
  infraCostAfterMonthly: 1366,
};

/** A month with every measurement present. */
export const measuredMonth: MonthMetrics = {
  syncLatencyP95Seconds: measured(0.012, 'Prometheus http://prom: p95'),
  prewarmHitRate: measured(0.8, 'Prometheus http://prom: hits / attempts'),
  conflictRate: measured(0.0025, 'Prometheus http://prom: conflicts / ops'),
  syncOperations: measured(206_800, 'Prometheus http://prom: ops'),
  syncConflicts: measured(517, 'Prometheus http://prom: conflicts'),
  bytesIn: measured(3 * 1024 ** 3, 'Prometheus http://prom: bytes (direction="in")'),
  bytesOut: measured(512 * 1024 ** 2, 'Prometheus http://prom: bytes (direction="out")'),
};

/** A month in which Prometheus recorded nothing. */
export const emptyMonth: MonthMetrics = Object.fromEntries(
  Object.keys(measuredMonth).map((name) => [
    name,
    noData(`Prometheus http://prom: ${name}`, 'no samples in 2026-10'),
  ]),
) as unknown as MonthMetrics;
