import { type Measured, measured, noData } from './measured.ts';
import { daysOf, type MonthWindow } from './month.ts';
import type { DailyPoint, MonthMetrics } from './month-metrics.ts';
import type { PrometheusClient } from './prometheus.ts';

const DAY_SECONDS = 86_400;

/** The PromQL expressions of the report, one per measured figure. */
export interface RoiQueries {
  syncLatencyP95Seconds: string;
  prewarmHitRate: string;
  conflictRate: string;
  syncOperations: string;
  syncConflicts: string;
  /** One series per `direction` label (`in`, `out`). */
  bytesByDirection: string;
}

/**
 * The PromQL of the report, for a range selector such as `2678400s` (a whole month) or `1d`.
 * Ratios divide increases over the same window, so they are exact however Prometheus extrapolates.
 * A numerator whose counter was never created reads as 0 only while its denominator has data
 * (`or 0 * denominator`), so an idle month stays "no data" instead of turning into 0 %.
 */
export function roiQueries(window: string): RoiQueries {
  const increase = (metric: string) => `sum(increase(${metric}[${window}]))`;
  const ops = increase('workspace_sync_operations_total');
  const attempts = increase('workspace_prewarm_attempts_total');
  const conflicts = `(${increase('workspace_sync_conflicts_total')} or 0 * ${ops})`;
  const hits = `(${increase('workspace_prewarm_hits_total')} or 0 * ${attempts})`;
  return {
    syncLatencyP95Seconds: `histogram_quantile(0.95, sum by (le) (rate(workspace_sync_duration_seconds_bucket[${window}])))`,
    prewarmHitRate: `${hits} / ${attempts}`,
    conflictRate: `${conflicts} / ${ops}`,
    syncOperations: ops,
    syncConflicts: conflicts,
    bytesByDirection: `sum by (direction) (increase(workspace_sync_bytes_total[${window}]))`,
  };
}

/** One value from a single-series instant result; empty, several series, NaN or ±Inf are no data. */
async function single(
  prom: PrometheusClient,
  query: string,
  at: Date,
  month: MonthWindow,
): Promise<Measured> {
  const source = `Prometheus ${prom.baseUrl}: ${query}`;
  const samples = await prom.instant(query, at);
  const [first] = samples;
  if (!first) return noData(source, `no samples in ${month.label}`);
  if (samples.length > 1) return noData(source, `expected one series, got ${samples.length}`);
  if (!Number.isFinite(first.value)) {
    return noData(source, `no usable value in ${month.label} (the query returned ${String(first.value)})`);
  }
  return measured(first.value, source);
}

/**
 * Measures the month: every query is evaluated at the first instant of the next month over a window
 * of exactly the month's length, so it covers that month and nothing else.
 */
export async function fetchMonthMetrics(prom: PrometheusClient, month: MonthWindow): Promise<MonthMetrics> {
  const q = roiQueries(`${month.days * DAY_SECONDS}s`);
  const at = month.end;
  const [p95, hitRate, conflictRate, ops, conflicts, bytes] = await Promise.all([
    single(prom, q.syncLatencyP95Seconds, at, month),
    single(prom, q.prewarmHitRate, at, month),
    single(prom, q.conflictRate, at, month),
    single(prom, q.syncOperations, at, month),
    single(prom, q.syncConflicts, at, month),
    prom.instant(q.bytesByDirection, at),
  ]);
  const direction = (name: string): Measured => {
    const source = `Prometheus ${prom.baseUrl}: ${q.bytesByDirection} (direction="${name}")`;
    const sample = bytes.find((s) => s.labels.direction === name);
    if (!sample) return noData(source, `no samples in ${month.label}`);
    return measured(sample.value, source);
  };
  return {
    syncLatencyP95Seconds: p95,
    prewarmHitRate: hitRate,
    conflictRate,
    syncOperations: ops,
    syncConflicts: conflicts,
    bytesIn: direction('in'),
    bytesOut: direction('out'),
  };
}

/**
 * The daily p95 sync latency and pre-warm hit rate of the month (UTC days). The point for day d is
 * evaluated at the end of day d over a one-day window; a day without samples, or whose value is NaN
 * (for example no pre-warm attempt at all), is `null`.
 */
export async function fetchDailySeries(prom: PrometheusClient, month: MonthWindow): Promise<DailyPoint[]> {
  const q = roiQueries('1d');
  const firstDayEnd = new Date(month.start.getTime() + DAY_SECONDS * 1000);
  const [p95, hitRate] = await Promise.all([
    prom.range(q.syncLatencyP95Seconds, firstDayEnd, month.end, DAY_SECONDS),
    prom.range(q.prewarmHitRate, firstDayEnd, month.end, DAY_SECONDS),
  ]);
  const byDay = (series: typeof p95): Map<number, number> => {
    const values = new Map<number, number>();
    // Only a single-series result is meaningful; anything else leaves the days empty.
    if (series.length !== 1) return values;
    for (const point of series[0]?.points ?? []) {
      if (!Number.isFinite(point.value)) continue;
      const dayIndex = Math.round((point.time * 1000 - month.start.getTime()) / (DAY_SECONDS * 1000)) - 1;
      values.set(dayIndex, point.value);
    }
    return values;
  };
  const p95ByDay = byDay(p95);
  const hitRateByDay = byDay(hitRate);
  return daysOf(month).map((date, i) => ({
    date,
    syncLatencyP95Seconds: p95ByDay.get(i) ?? null,
    prewarmHitRate: hitRateByDay.get(i) ?? null,
  }));
}
