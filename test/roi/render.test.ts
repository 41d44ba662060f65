import { describe, expect, it } from 'bun:test';
import { computeRoi } from '../../src/roi/model.ts';
import { daysOf, monthWindow } from '../../src/roi/month.ts';
import type { DailyPoint } from '../../src/roi/month-metrics.ts';
import { renderJson, renderMarkdown } from '../../src/roi/render.ts';
import type { RoiReport } from '../../src/roi/report.ts';
import { articleConfig, emptyMonth, measuredMonth } from './fixtures.ts';

const month = monthWindow('2026-10');

function report(overrides: Partial<RoiReport> = {}): RoiReport {
  const metrics = overrides.metrics ?? measuredMonth;
  const config = overrides.config ?? articleConfig;
  // Data on 1, 2 and 5 October only; the other 28 days have none.
  const daily: DailyPoint[] = daysOf(month).map((date, i) => ({
    date,
    syncLatencyP95Seconds: [0, 1, 4].includes(i) ? 0.012 + i / 1000 : null,
    prewarmHitRate: [0, 1, 4].includes(i) ? 0.8 : null,
  }));
  return {
    month,
    config,
    configSource: 'src/roi/examples/roi-config.json',
    metrics,
    daily,
    roi: computeRoi(config, metrics),
    ...overrides,
  };
}

describe('renderMarkdown', () => {
  it('starts with the hidden marker of the month', () => {
    expect(renderMarkdown(report()).split('\n')[0]).toBe('<!-- warmsync-roi:2026-10 -->');
  });

  it('lists each input with its value and where it came from', () => {
    const md = renderMarkdown(report());
    expect(md).toContain('| Engineers | 47 | config src/roi/examples/roi-config.json |');
    expect(md).toContain(
      '| Minutes lost per engineer per day, after | 7.59 | config src/roi/examples/roi-config.json |',
    );
    expect(md).toContain('| Sync latency p95 | 12 ms | Prometheus http://prom: `p95` |');
    expect(md).toContain('| Pre-warm hit rate | 80.0 % | Prometheus http://prom: `hits / attempts` |');
    expect(md).toContain('| Bytes received by the server | 3.00 GiB |');
  });

  it('includes the formula lines and the results', () => {
    const md = renderMarkdown(report());
    expect(md).toContain('hours saved = 47 engineers x (23 - 7.59) min/day x 22 days / 60 = 265.57 h\n');
    expect(md).toContain('| Engineer-hours saved | 265.57 h |');
    expect(md).toContain('| **Net monthly value** | **$15,086.28** |');
  });

  it('shows missing measurements as no data with the reason, never as 0', () => {
    const md = renderMarkdown(report({ metrics: emptyMonth }));
    expect(md).toContain('| Sync latency p95 | no data (no samples in 2026-10) |');
    expect(md).toContain('| Pre-warm hit rate | no data (no samples in 2026-10) |');
    expect(md).not.toContain('| 0 ms');
  });

  it('shows the results as no data when the after-figure cannot be derived', () => {
    const { minutesLostPerEngineerPerDayAfter: _, ...config } = articleConfig;
    const md = renderMarkdown(report({ config, metrics: emptyMonth, roi: computeRoi(config, emptyMonth) }));
    expect(md).toContain(
      '| **Net monthly value** | **no data (minutes lost after: sync operations: no samples in 2026-10)** |',
    );
    expect(md).toContain('| Infrastructure saving | $1,808.00 |');
  });

  it('charts only the days with data and lists the others as without data', () => {
    const md = renderMarkdown(report());
    expect(md).toContain('  x-axis "day" ["1", "2", "5"]');
    expect(md).toContain('  line [12, 13, 16]');
    expect(md).toContain('  line [80, 80, 80]');
    expect(md).toContain('Days without data (not plotted): 3-4, 6-31.');
  });

  it('says so when no day of the month has data', () => {
    const empty = daysOf(month).map((date) => ({ date, syncLatencyP95Seconds: null, prewarmHitRate: null }));
    const md = renderMarkdown(report({ daily: empty }));
    expect(md).toContain('**Daily p95 sync latency (ms), 2026-10**: no data on any day of the month.');
    expect(md).not.toContain('```mermaid');
  });

  it('renders the same report to the same bytes', () => {
    expect(renderMarkdown(report())).toBe(renderMarkdown(report()));
  });
});

describe('renderJson', () => {
  it('keeps unrounded numbers and marks missing data as null with a reason', () => {
    const doc = JSON.parse(
      renderJson(report({ metrics: { ...measuredMonth, bytesOut: emptyMonth.bytesOut } })),
    );
    expect(doc.month).toBe('2026-10');
    expect(doc.results.hoursSavedPerMonth.value).toBeCloseTo(265.565667, 5);
    expect(doc.metrics.bytesOut).toEqual({
      value: null,
      noData: true,
      reason: 'no samples in 2026-10',
      source: 'Prometheus http://prom: bytesOut',
    });
    expect(doc.daily[2]).toEqual({ date: '2026-10-03', syncLatencyP95Seconds: null, prewarmHitRate: null });
  });
});
