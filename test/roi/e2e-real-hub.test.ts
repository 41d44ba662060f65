import { beforeAll, describe, expect, it } from 'bun:test';
import { type RoiScenarioResult, runRoiScenario } from '../../scripts/roi-example.ts';

// The whole chain on loopback, nothing faked: a real hub, two real agents syncing real edits and
// two real conflicts, a real Prometheus scraping the hub every second, and `warmsync roi` run as a
// child process against it for the current month. The scenario is the one scripts/roi-example.ts
// renders into src/roi/examples/example-report.md; it stops everything it started.

interface JsonFigure {
  value: number | null;
  noData?: true;
  reason?: string;
}

let run: RoiScenarioResult;
let metrics: Record<string, JsonFigure>;

beforeAll(async () => {
  run = await runRoiScenario();
  metrics = (JSON.parse(run.json) as { metrics: Record<string, JsonFigure> }).metrics;
}, 90_000);

const value = (name: string): number => {
  const figure = metrics[name];
  if (figure?.value === null || figure?.value === undefined) {
    throw new Error(`${name} has no value: ${figure?.reason ?? 'absent'}`);
  }
  return figure.value;
};

describe('warmsync roi against a real Prometheus scraping a real hub', () => {
  it('reports the current month', () => {
    expect(JSON.parse(run.json).month).toBe(new Date().toISOString().slice(0, 7));
  });

  it('measures a p95 sync latency above 0 and below 10 s', () => {
    expect(value('syncLatencyP95Seconds')).toBeGreaterThan(0);
    expect(value('syncLatencyP95Seconds')).toBeLessThan(10);
  });

  it('measures a conflict rate above 0 from the real conflicts', () => {
    expect(run.hubConflicts).toBe(2);
    expect(value('syncConflicts')).toBeGreaterThan(0);
    expect(value('conflictRate')).toBeGreaterThan(0);
    expect(value('conflictRate')).toBeLessThan(1);
  });

  it('measures bytes moved in both directions', () => {
    expect(value('syncOperations')).toBeGreaterThan(0);
    expect(value('bytesIn')).toBeGreaterThan(0);
    expect(value('bytesOut')).toBeGreaterThan(0);
  });

  it('reports the pre-warm hit rate as no data, never 0, since nothing was pre-warmed', () => {
    expect(metrics.prewarmHitRate).toMatchObject({ value: null, noData: true });
    expect(run.markdown).toMatch(/\| Pre-warm hit rate \| no data \(/);
  });

  it('renders the same month as Markdown with the measured latency', () => {
    expect(run.markdown).toContain(`## warmsync ROI report, ${run.month}`);
    expect(run.markdown).toMatch(/\| Sync latency p95 \| [0-9,.]+ ms \|/);
  });
});
