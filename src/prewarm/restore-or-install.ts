/**
 * Giving a checkout its `node_modules` at start: from the hub's snapshot of its lockfile, else
 * with `npm ci`. Shared by the agent (in the background) and `warmsync prewarm --restore`; it
 * loads neither the import parsers nor the npm cache library, so the command line starts fast.
 *
 * Nothing runs unasked: `npm ci` ignores scripts and a restored snapshot gets none run unless the
 * policy allows them (`--allow-scripts`), in which case `npm rebuild` runs them in the staging
 * folder before the rename.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { InstallError, installInPlace, npmRebuild } from './npm-install.ts';
import type { NpmPolicy } from './npm-policy.ts';
import type { LockedPackage } from './package-lock.ts';
import { RestoreError, restoreSnapshot, type SnapshotRestoreClient } from './snapshot-restore.ts';

/** How a start-up restore ended. */
export type RestoreOutcome = 'present' | 'no-lockfile' | 'restored' | 'installed' | 'failed';

export interface RestoreOptions {
  dir: string;
  client: SnapshotRestoreClient;
  /** The shared npm cache the `npm ci` fallback installs from (and fills). */
  npmCache: string;
  /** Scripts and npm configuration for every npm run (npm-policy.ts). */
  policy: NpmPolicy;
  log: (line: string) => void;
  metrics?: AgentMetrics;
  npm?: string;
  /** Told when the hub's snapshot did not match the lockfile (the agent reports it as a problem). */
  onRefused?: (message: string) => void;
  /** This machine's platform, for tests; default: asked of `node`. */
  platform?: string;
}

const NAMED = 5;

/** `a, b, c and 4 more`. */
function names(packages: readonly LockedPackage[]): string {
  const shown = packages.slice(0, NAMED).map((p) => p.path.replace(/^.*node_modules\//, ''));
  return packages.length > NAMED
    ? `${shown.join(', ')} and ${packages.length - NAMED} more`
    : shown.join(', ');
}

/** The step that runs install scripts on a restored tree, when they are allowed and there are any. */
function scriptsStep(options: RestoreOptions) {
  return async (staging: string, packages: readonly LockedPackage[]) => {
    const scripted = packages.filter((p) => p.hasInstallScript);
    if (scripted.length === 0) return;
    if (!options.policy.allowScripts) {
      options.log(`install scripts of ${names(scripted)} not run (--allow-scripts runs them)`);
      return;
    }
    options.log(`running the install scripts of ${names(scripted)} (npm rebuild)`);
    await npmRebuild(staging, { npm: options.npm, cache: options.npmCache, policy: options.policy });
  };
}

/**
 * Gives `dir` a node_modules matching its package-lock.json when it has none: from the hub's
 * snapshot, else with `npm ci`. Never throws; the outcome is logged and counted.
 */
export async function restoreNodeModules(options: RestoreOptions): Promise<RestoreOutcome> {
  const { dir, log, metrics } = options;
  if (existsSync(join(dir, 'node_modules'))) return 'present';
  if (!existsSync(join(dir, 'package-lock.json'))) return 'no-lockfile';
  try {
    const report = await restoreSnapshot(options.client, dir, {
      platform: options.platform,
      beforeRename: scriptsStep(options),
    });
    metrics?.snapshotRestores.inc({ result: 'restored' });
    metrics?.snapshotRestoreDuration.observe(report.durationMs / 1000);
    log(
      `restored node_modules from snapshot ${report.lockHash.slice(0, 12)}: ${report.packages} packages checked against the lockfile, ${report.files} files, ${report.bytes} bytes in ${Math.round(report.durationMs)} ms`,
    );
    return 'restored';
  } catch (error) {
    const code = error instanceof RestoreError ? error.code : undefined;
    if (code === 'exists') {
      log(`snapshot restore skipped: ${(error as Error).message}`);
      return 'present';
    }
    if (code === 'no-lockfile') return 'no-lockfile';
    const result =
      code === 'no-snapshot' || code === 'other-platform'
        ? 'no-snapshot'
        : code === 'refused' || code === 'unsupported'
          ? 'refused'
          : 'failed';
    metrics?.snapshotRestores.inc({ result });
    if (result !== 'no-snapshot') metrics?.prewarmFailures.inc({ stage: 'restore' });
    if (result === 'refused') {
      log(`snapshot refused, nothing of it kept: ${(error as Error).message}; running npm ci instead`);
      options.onRefused?.((error as Error).message);
    } else log(`snapshot restore: ${(error as Error).message}; running npm ci instead`);
  }
  try {
    await installInPlace(dir, { npm: options.npm, cache: options.npmCache, policy: options.policy });
    log(`installed node_modules with npm ci${options.policy.allowScripts ? '' : ' --ignore-scripts'}`);
    return 'installed';
  } catch (error) {
    if (error instanceof InstallError && error.code === 'exists') return 'present';
    metrics?.prewarmFailures.inc({ stage: 'install' });
    log(`npm ci fallback: ${(error as Error).message}; continuing without node_modules`);
    return 'failed';
  }
}
