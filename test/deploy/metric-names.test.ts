/**
 * Every metric the dashboard, the alert rules and the autoscaler's adapter read is one a real hub
 * or agent exports, under the scrape job each selects: a hub started on loopback is pushed to by
 * an agent, and both are scraped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveAgentMetrics } from '../../src/agent/metrics-endpoint.ts';
import { createAgentMetrics } from '../../src/metrics/agent-metrics.ts';
import { cleanup, onCleanup, startAgent, startHub, waitUntil } from '../helpers/harness.ts';
import { KUBERNETES_DIR } from './manifests.ts';
import { exportedNames, metricNames, selectors } from './promql.ts';
import { adapterRules, dashboardQueries, readDashboard, ruleQueries } from './sources.ts';
import { readYamlDocuments } from './yaml.ts';

const TOKEN = 'metric-names-admin-token';
/** Series Prometheus itself makes for every target. */
const PROMETHEUS_OWN = new Set(['up']);

const exported = { 'warmsync-hub': new Set<string>(), 'warmsync-agent': new Set<string>() };

beforeAll(async () => {
  const hub = startHub({ token: TOKEN });
  const metrics = createAgentMetrics({ problems: () => 0, pendingRemote: () => 0 });
  const agent = await startAgent(hub, { token: TOKEN, metrics });
  const endpoint = serveAgentMetrics(metrics, 0);
  onCleanup(() => endpoint.stop());
  const scrapeHub = async () =>
    (await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  writeFileSync(join(agent.tree.root, 'hello.txt'), 'pushed so the counters have samples');
  await waitUntil(
    async () =>
      /^workspace_sync_operations_total\{[^}]*result="accepted"[^}]*\} [1-9]/m.test(await scrapeHub()),
    'the push to be counted by the hub',
  );
  expect((await fetch(`${hub.url}/metrics`)).status).toBe(401);
  exported['warmsync-hub'] = exportedNames(await scrapeHub());
  exported['warmsync-agent'] = exportedNames(await (await fetch(`${endpoint.url}/metrics`)).text());
}, 60_000);

afterAll(cleanup);

/** The metrics of `exprs` that no scrape of their job declares, as `name (job)`. */
function unexported(exprs: string[]): string[] {
  const missing = new Set<string>();
  for (const expr of exprs) {
    const selected = selectors(expr);
    for (const name of metricNames(expr)) {
      const jobs = selected.filter((s) => s.name === name).map((s) => s.job);
      if (jobs.length === 0) missing.add(`${name} (selected without a job)`);
      for (const job of jobs) {
        const names = exported[job as keyof typeof exported];
        if (!names) missing.add(`${name} (unknown job ${job})`);
        else if (!names.has(name) && !PROMETHEUS_OWN.has(name)) missing.add(`${name} (${job})`);
      }
    }
  }
  return [...missing];
}

describe('metricNames', () => {
  const cases: Array<[string, string[]]> = [
    ['sum by (le) (rate(a_bucket{job="x", le=~"0.1|b"}[5m]))', ['a_bucket']],
    [
      'sum(rate(a_total[$__rate_interval])) / sum without (code) (b_total offset 5m) > 0.02',
      ['a_total', 'b_total'],
    ],
    ['min_over_time(c{job="agent"}[10m:1m]) > 0 and on (instance) up == 1', ['c', 'up']],
    ['label_values(d_total{job="hub"}, workspace)', ['d_total']],
    ['histogram_quantile(0.95, sum by (le) (rate(e_bucket[5m]))) > bool 1e-3', ['e_bucket']],
  ];
  for (const [expr, names] of cases) {
    it(`reads ${names.join(', ')} from ${expr}`, () => {
      expect(metricNames(expr).sort()).toEqual(names);
    });
  }
});

describe('metric names in deploy/', () => {
  it('are exported: the scrapes declare the histograms, counters and gauges used', () => {
    expect(exported['warmsync-hub']).toContain('workspace_sync_duration_seconds_bucket');
    expect(exported['warmsync-hub']).toContain('workspace_sync_conflicts_total');
    expect(exported['warmsync-agent']).toContain('warmsync_agent_pending_remote');
  });

  it('of the Grafana dashboard are all exported by the job each query selects', () => {
    const queries = dashboardQueries(readDashboard());
    expect(queries.length).toBeGreaterThan(20);
    expect(unexported(queries)).toEqual([]);
  });

  it('of the alert rules are all exported by the job each rule selects', () => {
    expect(unexported(ruleQueries())).toEqual([]);
  });

  it('of the dashboard and rules would be caught if misspelled', () => {
    expect(unexported(['rate(workspace_sync_conflict_total{job="warmsync-hub"}[5m])'])).toEqual([
      'workspace_sync_conflict_total (warmsync-hub)',
    ]);
    expect(unexported(['warmsync_agent_pending_remote{job="warmsync-hub"}'])).toEqual([
      'warmsync_agent_pending_remote (warmsync-hub)',
    ]);
  });

  it('serve the autoscaler a p95 latency made from the histogram the hub exports', () => {
    const [rule] = adapterRules();
    const [series] = metricNames(rule?.seriesQuery ?? '');
    expect(series).toBe('workspace_sync_duration_seconds_bucket');
    expect(exported['warmsync-hub']).toContain(series ?? '');
    expect(series).toMatch(new RegExp(rule?.name.matches ?? '^$'));
    expect(rule?.metricsQuery).toContain('histogram_quantile(0.95,');
    const [hpa] = readYamlDocuments(join(KUBERNETES_DIR, 'hpa.yaml')) as [
      { spec: { metrics: Array<{ type: string; pods?: { metric: { name: string } } }> } },
    ];
    const pods = hpa.spec.metrics.find((m) => m.type === 'Pods');
    expect(pods?.pods?.metric.name).toBe(rule?.name.as ?? '');
  });
});
