import type { RoiConfig } from './config.ts';
import { computeRoi, type RoiResult } from './model.ts';
import type { MonthWindow } from './month.ts';
import type { DailyPoint, MonthMetrics } from './month-metrics.ts';
import type { PrometheusClient } from './prometheus.ts';
import { fetchDailySeries, fetchMonthMetrics } from './queries.ts';

/** Everything the report shows: the inputs, where they came from, the measurements and the result. */
export interface RoiReport {
  month: MonthWindow;
  config: RoiConfig;
  /** Where the config was read from, for example its path. */
  configSource: string;
  metrics: MonthMetrics;
  daily: DailyPoint[];
  roi: RoiResult;
}

/** What {@link buildRoiReport} needs; the caller builds the client and reads the config. */
export interface RoiReportDeps {
  prometheus: PrometheusClient;
  config: RoiConfig;
  configSource: string;
  month: MonthWindow;
}

/**
 * Measures the month in Prometheus and computes its ROI. The only I/O is through the given client,
 * so the CLI and the Action share this code.
 *
 * @example
 * const report = await buildRoiReport({ prometheus, config, configSource: 'roi.json', month: monthWindow('2026-10') });
 */
export async function buildRoiReport(deps: RoiReportDeps): Promise<RoiReport> {
  const [metrics, daily] = await Promise.all([
    fetchMonthMetrics(deps.prometheus, deps.month),
    fetchDailySeries(deps.prometheus, deps.month),
  ]);
  return {
    month: deps.month,
    config: deps.config,
    configSource: deps.configSource,
    metrics,
    daily,
    roi: computeRoi(deps.config, metrics),
  };
}
