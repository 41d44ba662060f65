/**
 * The Prometheus alert rules of deploy/prometheus: valid for promtool, and their unit tests (a
 * case that fires and one that stays quiet per alert) pass, and fail when a threshold moves.
 */
import { describe, expect, it } from 'bun:test';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readYamlDocuments } from './yaml.ts';

const PROMETHEUS_DIR = join(import.meta.dir, '..', '..', 'deploy', 'prometheus');
const RULES = join(PROMETHEUS_DIR, 'alerts.yml');
const RULE_TESTS = join(PROMETHEUS_DIR, 'alerts.test.yml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function promtool(...args: string[]): { exitCode: number; output: string } {
  const run = Bun.spawnSync(['promtool', ...args], { stdout: 'pipe', stderr: 'pipe' });
  return { exitCode: run.exitCode, output: `${run.stdout.toString()}${run.stderr.toString()}` };
}

function rules(): Rule[] {
  const [doc] = readYamlDocuments(RULES) as [{ groups: Array<{ rules: Rule[] }> }];
  return doc.groups.flatMap((group) => group.rules);
}

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const { exitCode, output } = promtool('check', 'rules', RULES);
    expect(output).toContain('SUCCESS: 5 rules found');
    expect(exitCode).toBe(0);
  });

  it('have the five alerts, each with for:, severity and team labels, summary and description', () => {
    const all = rules();
    expect(all.map((r) => r.alert).sort()).toEqual([
      'WarmsyncAgentBehind',
      'WarmsyncConflictRateHigh',
      'WarmsyncHubDown',
      'WarmsyncPrewarmHitRateLow',
      'WarmsyncSyncLatencyHigh',
    ]);
    for (const rule of all) {
      expect({ alert: rule.alert, for: rule.for }).toEqual({
        alert: rule.alert,
        for: expect.stringMatching(/^\d+[smh]$/),
      });
      expect(Object.keys(rule.labels ?? {}).sort()).toEqual(['severity', 'team']);
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'summary']);
    }
  });

  it('fire at the thresholds given: p95 over 50 ms, conflicts over 2%, hit rate under 40%', () => {
    const byName = new Map(rules().map((r) => [r.alert, r.expr.replace(/\s+/g, ' ').trim()]));
    expect(byName.get('WarmsyncSyncLatencyHigh')).toMatch(/histogram_quantile\(0\.95,.*\) > 0\.05$/);
    expect(byName.get('WarmsyncConflictRateHigh')).toMatch(/> 0\.02$/);
    expect(byName.get('WarmsyncPrewarmHitRateLow')).toMatch(/< 0\.4$/);
    expect(byName.get('WarmsyncHubDown')).toBe('up{job="warmsync-hub"} == 0');
  });

  it('pass their unit tests under promtool test rules', () => {
    const { exitCode, output } = promtool('test', 'rules', RULE_TESTS);
    expect(output).toContain('SUCCESS');
    expect(exitCode).toBe(0);
  }, 30_000);

  it('have unit tests that fail when a threshold changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warmsync-rules-'));
    try {
      copyFileSync(RULE_TESTS, join(dir, 'alerts.test.yml'));
      const moved: Array<[string, string]> = [
        ['> 0.05', '> 0.2'],
        ['> 0.02', '> 0.05'],
        ['< 0.4', '< 0.2'],
        ['== 0', '== 2'],
        ['[10m]) > 0', '[10m]) > 10'],
      ];
      for (const [from, to] of moved) {
        const text = readFileSync(RULES, 'utf8');
        expect(text).toContain(from);
        writeFileSync(join(dir, 'alerts.yml'), text.replace(from, to));
        const { exitCode, output } = promtool('test', 'rules', join(dir, 'alerts.test.yml'));
        expect({ moved: `${from} -> ${to}`, exitCode }).toEqual({ moved: `${from} -> ${to}`, exitCode: 1 });
        expect(output).toContain('FAILED');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('are loaded by the example Prometheus configuration, which promtool accepts', () => {
    // Debian's promtool is built without Kubernetes service discovery: check a copy whose
    // kubernetes_sd_configs is a static target, which leaves every other field checked.
    const dir = mkdtempSync(join(tmpdir(), 'warmsync-prometheus-'));
    try {
      const config = readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8');
      expect(config).toMatch(/^rule_files:\n {2}- alerts\.yml$/m);
      // promtool also wants the credential file to exist.
      const tokenFile = join(dir, 'WARMSYNC_TOKEN');
      writeFileSync(tokenFile, 'token');
      const portable = config
        .replace(
          /kubernetes_sd_configs:\n(?: {6}.*\n)+/,
          'static_configs:\n      - targets: [127.0.0.1:7420]\n',
        )
        .replace(/credentials_file: .*/, `credentials_file: ${tokenFile}`);
      expect(portable).not.toContain('kubernetes_sd_configs');
      writeFileSync(join(dir, 'prometheus.yml'), portable);
      copyFileSync(RULES, join(dir, 'alerts.yml'));
      const { exitCode, output } = promtool('check', 'config', join(dir, 'prometheus.yml'));
      expect(output).toContain('SUCCESS');
      expect(exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
