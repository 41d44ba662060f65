/**
 * Results of the suite: one row per figure with its baseline, ratio and target, rendered as the
 * Markdown table printed to the terminal and written into BENCHMARKS.md.
 */

export interface Row {
  bench: string;
  metric: string;
  /** The median figure for warmsync. */
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** Target in words, e.g. '<= 1.5x zstd bound'. */
  target?: string;
  /** Whether the target is met; undefined when the row has no target. */
  met?: boolean;
  /** Number of runs (or samples) behind the median. */
  runs: number;
  note?: string;
}

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case 'ms':
      if (value < 10) return `${value.toFixed(2)} ms`;
      return value < 100 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
    case 's':
      return `${value.toFixed(2)} s`;
    case 'B':
      if (value >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(2)} MiB`;
      if (value >= 1024) return `${(value / 1024).toFixed(1)} KiB`;
      return `${Math.round(value)} B`;
    case '%':
      return `${value.toFixed(2)} %`;
    default:
      return `${value.toFixed(2)} ${unit}`;
  }
}

export function ratio(row: Row): string {
  if (!row.baseline || !Number.isFinite(row.value) || !(row.baseline.value > 0)) return '';
  return `${(row.value / row.baseline.value).toFixed(2)}x`;
}

export function renderTable(rows: readonly Row[]): string {
  const lines = [
    '| bench | figure | warmsync (median) | baseline (median) | ratio | target | met | runs |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const baseline = r.baseline ? `${formatValue(r.baseline.value, r.unit)} (${r.baseline.name})` : '';
    const met = r.met === undefined ? '' : r.met ? 'met' : '**not met**';
    lines.push(
      `| ${r.bench} | ${r.metric}${r.note ? ` (${r.note})` : ''} | ${formatValue(r.value, r.unit)} | ${baseline} | ${ratio(r)} | ${r.target ?? ''} | ${met} | ${r.runs} |`,
    );
  }
  return lines.join('\n');
}
