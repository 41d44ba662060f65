/** The feature's metadata, scenarios and shell scripts, checked without installing anything. */
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readFeature } from './feature-env.ts';
import { canChroot, repoRoot, startScript } from './harness.ts';
import { runHost } from './rootfs.ts';

const featureRoot = join(repoRoot, 'devcontainer-feature');

const scenariosSchema = z.record(
  z.string(),
  z.object({ features: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.boolean()]))) }),
);

function shellScripts(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.sh'))
    .map((name) => join(dir, name))
    .sort();
}

/** Installs shellcheck with apt-get when this machine lacks it and may install packages. */
async function ensureShellcheck(): Promise<void> {
  if (Bun.which('shellcheck') || !canChroot) return;
  const install = ['apt-get', 'install', '-y', '--no-install-recommends', 'shellcheck'];
  if ((await runHost(install, { timeoutMs: 300_000 })).exitCode === 0) return;
  await runHost(['apt-get', 'update'], { timeoutMs: 300_000 });
  await runHost(install, { timeoutMs: 300_000 });
}

describe('devcontainer feature metadata', () => {
  test('declares the options, the log path and the postStartCommand', () => {
    const feature = readFeature();
    expect(feature.id).toBe('warmsync-agent');
    expect(Object.keys(feature.options).sort()).toEqual(
      [
        'allowScripts',
        'bunVersion',
        'folder',
        'poll',
        'prewarm',
        'registry',
        'serverUrl',
        'tokenFile',
        'version',
        'workspace',
      ].sort(),
    );
    expect(feature.options.prewarm?.type).toBe('boolean');
    expect(feature.options.allowScripts?.default).toBe(false);
    expect(feature.options.serverUrl?.default).toBe('');
    expect(feature.containerEnv.WARMSYNC_LOG).toBe('/var/log/warmsync/agent.log');
    expect(feature.postStartCommand).toBe(`${startScript} start`);
  });

  test('no option carries a token', () => {
    expect(Object.keys(readFeature().options).filter((name) => /token$/i.test(name))).toEqual([]);
  });

  test('every scenario names only options the feature declares, with a script beside it', () => {
    const dir = join(featureRoot, 'test/warmsync-agent');
    const scenarios = scenariosSchema.parse(JSON.parse(readFileSync(join(dir, 'scenarios.json'), 'utf8')));
    const options = Object.keys(readFeature().options);
    for (const [name, scenario] of Object.entries(scenarios)) {
      expect(readdirSync(dir)).toContain(`${name}.sh`);
      for (const option of Object.keys(scenario.features['warmsync-agent'] ?? {}))
        expect(options).toContain(option);
    }
  });
});

describe('devcontainer feature shell scripts', () => {
  test(
    'pass shellcheck',
    async () => {
      await ensureShellcheck();
      const scripts = shellScripts(featureRoot);
      expect(scripts.length).toBeGreaterThanOrEqual(5);
      const result = await runHost(['shellcheck', '--external-sources', ...scripts]);
      if (result.exitCode !== 0) console.error(result.stdout + result.stderr);
      expect(result.exitCode).toBe(0);
    },
    5 * 60_000,
  );
});
