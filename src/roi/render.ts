import { renderDailyCharts } from './chart.ts';
import { formatBytes, formatNumber, formatPercent, formatUsd } from './format.ts';
import { hasValue, type Measured } from './measured.ts';
import type { Outcome } from './model.ts';
import type { RoiReport } from './report.ts';

/** The hidden marker that identifies the report of one month, for example in an issue comment. */
export function reportMarker(monthLabel: string): string {
  return `<!-- warmsync-roi:${monthLabel} -->`;
}

/** A table cell: pipes escaped, line breaks flattened. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function shown(m: Measured, format: (value: number) => string): string {
  return hasValue(m) ? format(m.value) : `no data (${m.reason})`;
}

function sourceCell(m: Measured): string {
  const prefix = 'Prometheus ';
  if (!m.source.startsWith(prefix)) return cell(m.source);
  // Show the query as code, so the reader can paste it into Prometheus.
  const colon = m.source.indexOf(': ');
  return `${cell(m.source.slice(0, colon))}: \`${cell(m.source.slice(colon + 2))}\``;
}

function outcome(o: Outcome, format: (value: number) => string): string {
  return 'value' in o ? format(o.value) : `no data (${o.reason})`;
}

/**
 * The report as Markdown: the inputs with their sources, the arithmetic line by line, the results
 * and the daily charts. Starts with {@link reportMarker}. Deterministic: the same report renders
 * to the same bytes.
 *
 * @example
 * const markdown = renderMarkdown(report);
 */
export function renderMarkdown(report: RoiReport): string {
  const { config, metrics, roi } = report;
  const fromConfig = `config ${report.configSource}`;
  const configRow = (label: string, value: string) => `| ${label} | ${value} | ${cell(fromConfig)} |`;
  const metricRow = (label: string, m: Measured, format: (value: number) => string) =>
    `| ${label} | ${cell(shown(m, format))} | ${sourceCell(m)} |`;
  const ms = (seconds: number) => `${formatNumber(seconds * 1000, 2)} ms`;
  const count = (value: number) => formatNumber(value, 2);
  const after = roi.minutesLostAfter;
  const afterSource = after.source === 'config' ? cell(fromConfig) : cell(after.source);

  return [
    reportMarker(report.month.label),
    `## warmsync ROI report, ${report.month.label}`,
    '',
    '### Inputs',
    '',
    '| Input | Value | Source |',
    '|---|---|---|',
    configRow('Engineers', formatNumber(config.engineers, 0)),
    configRow('Blended hourly rate', `${formatUsd(config.blendedHourlyRate)}/h`),
    configRow(
      'Minutes lost per engineer per day, before',
      formatNumber(config.minutesLostPerEngineerPerDayBefore),
    ),
    `| Minutes lost per engineer per day, after | ${cell(shown(after, (v) => formatNumber(v)))} | ${afterSource} |`,
    ...(config.minutesPerConflict === undefined
      ? []
      : [configRow('Minutes per conflict', formatNumber(config.minutesPerConflict))]),
    configRow('Working days per month', formatNumber(config.workingDaysPerMonth)),
    configRow('Infrastructure cost per month, before', formatUsd(config.infraCostBeforeMonthly)),
    configRow('Infrastructure cost per month, after', formatUsd(config.infraCostAfterMonthly)),
    metricRow('Sync latency p95', metrics.syncLatencyP95Seconds, ms),
    metricRow('Pre-warm hit rate', metrics.prewarmHitRate, formatPercent),
    metricRow('Conflict rate (conflicts per sync)', metrics.conflictRate, formatPercent),
    metricRow('Sync operations', metrics.syncOperations, count),
    metricRow('Sync conflicts', metrics.syncConflicts, count),
    metricRow('Bytes received by the server', metrics.bytesIn, formatBytes),
    metricRow('Bytes sent by the server', metrics.bytesOut, formatBytes),
    '',
    '### Arithmetic',
    '',
    '```text',
    ...roi.formulas,
    '```',
    '',
    'Operands are shown with at most 4 decimals and results with 2; every result is computed from unrounded values.',
    '',
    '### Results',
    '',
    '| Result | Per month |',
    '|---|---|',
    `| Engineer-hours saved | ${cell(outcome(roi.hoursSavedPerMonth, (v) => `${formatNumber(v, 2)} h`))} |`,
    `| Productivity value | ${cell(outcome(roi.productivityValueMonthly, formatUsd))} |`,
    `| Infrastructure saving | ${formatUsd(roi.infraSavingMonthly)} |`,
    `| **Net monthly value** | **${cell(outcome(roi.netMonthlyValue, formatUsd))}** |`,
    '',
    '### Daily',
    '',
    renderDailyCharts(report.month.label, report.daily),
    '',
  ].join('\n');
}

/** The JSON form of an outcome or measurement: the number, or `null` with the reason beside it. */
function jsonOutcome(o: Outcome | Measured): Record<string, unknown> {
  const source = 'source' in o ? { source: o.source } : {};
  return 'value' in o
    ? { value: o.value, ...source }
    : { value: null, noData: true, reason: o.reason, ...source };
}

/**
 * The report as JSON for machines: unrounded numbers, `null` plus a reason for anything without
 * data. Deterministic key order.
 */
export function renderJson(report: RoiReport): string {
  const { metrics, roi } = report;
  const document = {
    month: report.month.label,
    configSource: report.configSource,
    config: report.config,
    metrics: Object.fromEntries(
      Object.entries(metrics).map(([name, m]: [string, Measured]) => [name, jsonOutcome(m)]),
    ),
    results: {
      minutesLostPerEngineerPerDayAfter: jsonOutcome(roi.minutesLostAfter),
      hoursSavedPerMonth: jsonOutcome(roi.hoursSavedPerMonth),
      productivityValueMonthly: jsonOutcome(roi.productivityValueMonthly),
      infraSavingMonthly: { value: roi.infraSavingMonthly },
      netMonthlyValue: jsonOutcome(roi.netMonthlyValue),
    },
    formulas: roi.formulas,
    daily: report.daily,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
