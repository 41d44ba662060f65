import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheKey, findLockfiles, type Lockfile } from './lockfiles.ts';

/** What the prewarm mode needs; `main.ts` builds it from the inputs and the environment. */
export interface PrewarmRun {
  /** The checked-out repository. */
  repoDir: string;
  /** Runner OS for the cache key (`RUNNER_OS`), since installed packages differ per OS. */
  os: string;
  historyDepth: number;
  serverUrl: string | undefined;
  workspace: string | undefined;
  token: string | undefined;
  warn: (line: string) => void;
}

/** What the pre-warm library is asked to do, once it is wired in. */
export interface PrewarmRequest {
  repoDir: string;
  historyDepth: number;
  serverUrl: string | undefined;
  workspace: string | undefined;
  token: string | undefined;
  lockfiles: Lockfile[];
}

/** What the pre-warm step did. */
export interface PrewarmOutcome {
  warmed: boolean;
  note: string;
}

/**
 * The single place where the Action will call the pre-warm library (src/prewarm) to warm the
 * server's caches from the repository's history and lockfiles. It is not wired in yet: it warms
 * nothing and says so, so that no run claims a warm-up that did not happen.
 */
export async function warmCachesWithPrewarmLibrary(_request: PrewarmRequest): Promise<PrewarmOutcome> {
  return {
    warmed: false,
    note: 'Cache warming is not performed yet by this Action: only the cache key was computed.',
  };
}

/** What the mode reports back as outputs and job summary. */
export interface PrewarmReport {
  cacheKey: string;
  lockfiles: Lockfile[];
  outcome: PrewarmOutcome;
  summary: string;
}

/**
 * The prewarm mode: finds the lockfiles, computes the cache key, hands over to
 * {@link warmCachesWithPrewarmLibrary}, and writes the job summary.
 */
export async function runPrewarm(run: PrewarmRun): Promise<PrewarmReport> {
  if (existsSync(join(run.repoDir, '.git', 'shallow'))) {
    run.warn(
      `the checkout is shallow; history-depth ${run.historyDepth} needs the commit history: set 'fetch-depth: 0' on actions/checkout`,
    );
  }
  const lockfiles = await findLockfiles(run.repoDir);
  const key = cacheKey(run.os, lockfiles);
  const outcome = await warmCachesWithPrewarmLibrary({
    repoDir: run.repoDir,
    historyDepth: run.historyDepth,
    serverUrl: run.serverUrl,
    workspace: run.workspace,
    token: run.token,
    lockfiles,
  });
  const summary = [
    '## warmsync prewarm',
    '',
    `Cache key: \`${key}\``,
    '',
    lockfiles.length === 0
      ? 'No lockfile found; the key covers an empty set.'
      : [
          '| Lockfile | SHA-256 |',
          '|---|---|',
          ...lockfiles.map((f) => `| \`${f.path}\` | \`${f.sha256}\` |`),
        ].join('\n'),
    '',
    outcome.note,
    '',
  ].join('\n');
  return { cacheKey: key, lockfiles, outcome, summary };
}
