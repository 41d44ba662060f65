import { formatNumber } from './format.ts';
import type { DailyPoint } from './month-metrics.ts';

/** One daily series to draw: how to read a day's value, and how to label the chart. */
interface SeriesSpec {
  title: string;
  yLabel: string;
  pick: (point: DailyPoint) => number | null;
  /** Fixed top of the y-axis; 10 % above the largest value when absent. */
  yMax?: number;
}

const SERIES: SeriesSpec[] = [
  { title: 'Daily p95 sync latency (ms)', yLabel: 'ms', pick: (p) => nullOr(p.syncLatencyP95Seconds, 1000) },
  {
    title: 'Daily pre-warm hit rate (%)',
    yLabel: '%',
    pick: (p) => nullOr(p.prewarmHitRate, 100),
    yMax: 100,
  },
];

function nullOr(value: number | null, scale: number): number | null {
  return value === null ? null : value * scale;
}

/** `1, 2, 3, 5` becomes `1-3, 5`: the days without data, compactly. */
function dayRanges(days: number[]): string {
  const parts: string[] = [];
  let start = days[0];
  let previous = start;
  for (const day of [...days.slice(1), Number.NaN]) {
    if (start === undefined || previous === undefined) break;
    if (day === previous + 1) {
      previous = day;
      continue;
    }
    parts.push(start === previous ? String(start) : `${start}-${previous}`);
    start = day;
    previous = day;
  }
  return parts.join(', ');
}

/**
 * Mermaid `xychart-beta` charts of the month, one per series since latency and hit rate have
 * different scales. Mermaid cannot draw a gap in a line, so a day without data is left off the
 * x-axis (whose labels are the day numbers) and listed under the chart; it is never drawn as 0.
 *
 * @example
 * renderDailyCharts('2026-10', daily); // '```mermaid\nxychart-beta\n  title "..."\n...'
 */
export function renderDailyCharts(monthLabel: string, daily: DailyPoint[]): string {
  const blocks: string[] = [];
  for (const spec of SERIES) {
    const withData: { day: number; value: number }[] = [];
    const missing: number[] = [];
    daily.forEach((point, i) => {
      const value = spec.pick(point);
      if (value === null) missing.push(i + 1);
      else withData.push({ day: i + 1, value });
    });
    if (withData.length === 0) {
      blocks.push(`**${spec.title}, ${monthLabel}**: no data on any day of the month.`);
      continue;
    }
    const max = Math.max(...withData.map((d) => d.value));
    const top = spec.yMax ?? (max > 0 ? Number(formatNumber(max * 1.1, 2).replace(/,/g, '')) : 1);
    blocks.push(
      [
        '```mermaid',
        'xychart-beta',
        `  title "${spec.title}, ${monthLabel}"`,
        `  x-axis "day" [${withData.map((d) => `"${d.day}"`).join(', ')}]`,
        `  y-axis "${spec.yLabel}" 0 --> ${top}`,
        `  line [${withData.map((d) => formatNumber(d.value, 2).replace(/,/g, '')).join(', ')}]`,
        '```',
        '',
        missing.length > 0
          ? `Days without data (not plotted): ${dayRanges(missing)}.`
          : 'Every day has data.',
      ].join('\n'),
    );
  }
  return blocks.join('\n\n');
}
