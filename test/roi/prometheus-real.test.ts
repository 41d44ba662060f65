import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { monthWindow, previousMonth } from '../../src/roi/month.ts';
import { createPrometheusClient, type PrometheusClient } from '../../src/roi/prometheus.ts';
import { fetchDailySeries, fetchMonthMetrics } from '../../src/roi/queries.ts';
import { type FakeExporter, PER_SCRAPE, startFakeExporter } from './exporter.ts';
import { type PrometheusServer, startPrometheus, waitFor } from './prometheus-server.ts';

// A real Prometheus scrapes a loopback exporter of warmsync's metric names every second; the ROI
// queries then run against it for the current month (which holds the samples) and the previous
// month (which holds none).

let exporter: FakeExporter;
let prometheus: PrometheusServer;
let client: PrometheusClient;
const now = new Date();
const thisMonth = monthWindow(now.toISOString().slice(0, 7));

beforeAll(async () => {
  exporter = startFakeExporter();
  prometheus = await startPrometheus(exporter.port);
  client = createPrometheusClient({ baseUrl: prometheus.url, timeoutMs: 5_000 });
  // Four samples (0, 100, 200, 300 operations) give increases over three scrape intervals.
  await waitFor('Prometheus to record four scrapes', 30_000, async () => {
    const [sample] = await client.instant('count_over_time(workspace_sync_operations_total[1h])', new Date());
    return (sample?.value ?? 0) >= 4;
  });
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await exporter?.stop();
});

describe('fetchMonthMetrics against a real Prometheus', () => {
  it('measures p95 sync latency inside the (25 ms, 50 ms] bucket: 25 + 25 x (95 - 90) / 10 = 37.5 ms', async () => {
    const metrics = await fetchMonthMetrics(client, thisMonth);
    expect(metrics.syncLatencyP95Seconds).toMatchObject({ value: expect.closeTo(0.0375, 9) });
    expect(metrics.syncLatencyP95Seconds.source).toContain('histogram_quantile(0.95, sum by (le) (rate(');
  });

  it('measures the pre-warm hit rate as 8 hits / 10 attempts = 0.8', async () => {
    const metrics = await fetchMonthMetrics(client, thisMonth);
    expect(metrics.prewarmHitRate).toMatchObject({
      value: expect.closeTo(PER_SCRAPE.prewarmHits / PER_SCRAPE.prewarmAttempts, 9),
    });
  });

  it('measures the conflict rate as 2 conflicts / 100 operations = 0.02', async () => {
    const metrics = await fetchMonthMetrics(client, thisMonth);
    expect(metrics.conflictRate).toMatchObject({ value: expect.closeTo(0.02, 9) });
  });

  it('counts operations, conflicts and bytes by direction in the same 100 : 2 : 1000 : 500 proportion', async () => {
    const m = await fetchMonthMetrics(client, thisMonth);
    if (!('value' in m.syncOperations) || !('value' in m.syncConflicts)) throw new Error('expected counts');
    if (!('value' in m.bytesIn) || !('value' in m.bytesOut)) throw new Error('expected bytes');
    // increase() extrapolates, so the counts are not whole multiples of a scrape; their ratios are exact.
    expect(m.syncOperations.value).toBeGreaterThanOrEqual(300);
    expect(m.syncConflicts.value / m.syncOperations.value).toBeCloseTo(0.02, 9);
    expect(m.bytesIn.value / m.syncOperations.value).toBeCloseTo(10, 9);
    expect(m.bytesOut.value / m.bytesIn.value).toBeCloseTo(0.5, 9);
  });

  it('reports every figure of a month without samples as no data, not 0', async () => {
    const metrics = await fetchMonthMetrics(client, previousMonth(now));
    for (const [name, m] of Object.entries(metrics)) {
      expect({ name, noData: 'noData' in m }).toEqual({ name, noData: true });
    }
  });
});

describe('fetchDailySeries against a real Prometheus', () => {
  it('has a value only on the day(s) the samples were taken, and null on every other day', async () => {
    const daily = await fetchDailySeries(client, thisMonth);
    expect(daily).toHaveLength(thisMonth.days);
    const withData = daily.filter((d) => d.syncLatencyP95Seconds !== null);
    const today = new Date().toISOString().slice(0, 10);
    // Samples taken around midnight UTC may fall on two days; otherwise they are all today's.
    expect(withData.length).toBeGreaterThanOrEqual(1);
    expect(withData.length).toBeLessThanOrEqual(2);
    if (withData.length === 1) expect(withData[0]?.date).toBe(today);
    for (const day of withData) {
      expect(day.syncLatencyP95Seconds).toBeCloseTo(0.0375, 9);
      expect(day.prewarmHitRate).toBeCloseTo(0.8, 9);
    }
    const empty = daily.filter((d) => d.syncLatencyP95Seconds === null);
    expect(empty.every((d) => d.prewarmHitRate === null)).toBe(true);
    expect(empty.length).toBe(thisMonth.days - withData.length);
  });

  it('has no data on any day of a month without samples', async () => {
    const daily = await fetchDailySeries(client, previousMonth(now));
    expect(daily.every((d) => d.syncLatencyP95Seconds === null && d.prewarmHitRate === null)).toBe(true);
  });
});
