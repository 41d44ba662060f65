/**
 * The Grafana dashboard of deploy/grafana: a dashboard model Grafana imports as it is (datasource
 * chosen by a variable, unique panel ids, panels on the 24-column grid without overlaps), whose
 * every query is PromQL that promtool accepts.
 */
import { describe, expect, it } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dashboardQueries, readDashboard } from './sources.ts';

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template.
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

describe('Grafana dashboard', () => {
  const dashboard = readDashboard();
  const panels = dashboard.panels.filter((p) => p.type !== 'row');

  it('is a dashboard model with a uid, a title and a schema version, and no id of its own', () => {
    expect(dashboard).toMatchObject({ uid: 'warmsync-overview', title: 'warmsync', id: null });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  });

  it('reads Prometheus through a datasource variable, in every panel and query', () => {
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    expect(JSON.stringify(dashboard)).not.toContain('DS_PROMETHEUS');
    for (const panel of panels) {
      expect({ title: panel.title, datasource: panel.datasource }).toEqual({
        title: panel.title,
        datasource: DATASOURCE,
      });
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual(DATASOURCE);
    }
  });

  it('gives every panel a unique id, and every query a unique refId within its panel', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(refIds.length).toBeGreaterThan(0);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  it('lays panels on the 24-column grid without overlaps', () => {
    const cells = new Map<string, string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect({ title: panel.title, fits: x >= 0 && w > 0 && x + w <= 24 && h > 0 }).toEqual({
        title: panel.title,
        fits: true,
      });
      for (let row = y; row < y + h; row++) {
        for (let col = x; col < x + w; col++) {
          const taken = cells.get(`${row},${col}`);
          expect({ cell: `${row},${col}`, taken }).toEqual({ cell: `${row},${col}`, taken: undefined });
          cells.set(`${row},${col}`, panel.title);
        }
      }
    }
  });

  it('shows sync latency, conflict rate, pre-warm hit rate and bytes', () => {
    const titles = panels.map((p) => p.title);
    for (const title of ['p95 sync latency', 'Conflict rate', 'Pre-warm hit rate', 'Bytes in and out']) {
      expect(titles).toContain(title);
    }
  });

  it('has every panel listed in the README, with the metrics it reads', () => {
    const readme = readFileSync(join(import.meta.dir, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Running on Kubernetes'), readme.indexOf('## Predictive'));
    const table = section.slice(section.indexOf('| panel | metrics (job) |'));
    for (const panel of panels)
      expect({ panel: panel.title, listed: table.includes(panel.title) }).toEqual({
        panel: panel.title,
        listed: true,
      });
  });

  it('queries in PromQL that promtool accepts', () => {
    // Each query becomes a recording rule, with Grafana's variables given values.
    const rules = dashboardQueries(dashboard).map((expr, i) => ({
      record: `dashboard:query_${i}`,
      expr: expr
        .replaceAll('$__rate_interval', '5m')
        .replaceAll('$workspace', '.*')
        .replace(/^label_values\(([^,]+),.*\)$/, '$1'),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'warmsync-dashboard-'));
    try {
      const file = join(dir, 'queries.yml');
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const run = Bun.spawnSync(['promtool', 'check', 'rules', file], { stdout: 'pipe', stderr: 'pipe' });
      const output = `${run.stdout.toString()}${run.stderr.toString()}`;
      expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(run.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
