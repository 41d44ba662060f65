/** The PromQL of deploy/: the Grafana dashboard's queries, the alert rules, the adapter's rules. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readYamlDocuments } from './yaml.ts';

const DEPLOY_DIR = join(import.meta.dir, '..', '..', 'deploy');
export const DASHBOARD = join(DEPLOY_DIR, 'grafana', 'warmsync-dashboard.json');

interface Target {
  expr: string;
  refId: string;
  datasource: { type: string; uid: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: unknown }> };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

/** Every PromQL expression of the dashboard: panel queries and query variables. */
export function dashboardQueries(dashboard: Dashboard): string[] {
  const panels = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const variables = dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => (v.query as { query: string }).query);
  return [...panels, ...variables];
}

/** The expression of every alert rule in deploy/prometheus/alerts.yml. */
export function ruleQueries(): string[] {
  const [doc] = readYamlDocuments(join(DEPLOY_DIR, 'prometheus', 'alerts.yml')) as [
    { groups: Array<{ rules: Array<{ expr: string }> }> },
  ];
  return doc.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

export interface AdapterRule {
  seriesQuery: string;
  name: { matches: string; as: string };
  metricsQuery: string;
}

/** The prometheus-adapter rules that serve the autoscaler's custom metric. */
export function adapterRules(): AdapterRule[] {
  const [doc] = readYamlDocuments(join(DEPLOY_DIR, 'prometheus', 'adapter-rules.yml')) as [
    { rules: AdapterRule[] },
  ];
  return doc.rules;
}
