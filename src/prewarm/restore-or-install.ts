/**
 * Giving a checkout its `node_modules` at start: from the hub's snapshot of its lockfile, else
 * with `npm ci`. Shared by the agent (in the background) and `warmsync prewarm --restore`; it
 * loads neither the import parsers nor the npm cache library, so the command line starts fast.
 *
 * Nothing runs unasked: `npm ci` ignores scripts unless the policy allows them (`--allow-scripts`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { InstallError, installInPlace, lockfileHash } from './npm-install.ts';
import type { NpmPolicy } from './npm-policy.ts';
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
}

/**
 * Gives `dir` a node_modules matching its package-lock.json when it has none: from the hub's
 * snapshot, else with `npm ci`. Never throws; the outcome is logged and counted.
 */
export async function restoreNodeModules(options: RestoreOptions): Promise<RestoreOutcome> {
  const { dir, log, metrics } = options;
  if (existsSync(join(dir, 'node_modules'))) return 'present';
  const lockHash = lockfileHash(dir);
  if (!lockHash) return 'no-lockfile';
  try {
    const report = await restoreSnapshot(options.client, dir, lockHash);
    metrics?.snapshotRestores.inc({ result: 'restored' });
    metrics?.snapshotRestoreDuration.observe(report.durationMs / 1000);
    log(
      `restored node_modules from snapshot ${lockHash.slice(0, 12)}: ${report.files} files, ${report.bytes} bytes in ${Math.round(report.durationMs)} ms`,
    );
    return 'restored';
  } catch (error) {
    const expected = error instanceof RestoreError;
    if (expected && error.code === 'exists') {
      log(`snapshot restore skipped: ${error.message}`);
      return 'present';
    }
    const noSnapshot = expected && (error.code === 'no-snapshot' || error.code === 'other-platform');
    metrics?.snapshotRestores.inc({ result: noSnapshot ? 'no-snapshot' : 'failed' });
    if (!noSnapshot) metrics?.prewarmFailures.inc({ stage: 'restore' });
    log(`snapshot restore: ${(error as Error).message}; running npm ci instead`);
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
