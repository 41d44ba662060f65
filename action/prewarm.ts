import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTallyCounter } from '../src/prewarm/counter.ts';
import { type NpmWarmOutcome, warmNpm } from '../src/prewarm/warm-npm.ts';
import { type HotFile, predictHotSet } from './hot-set.ts';
import { cacheKey, findLockfiles, type Lockfile } from './lockfiles.ts';
import { type HotDependencies, hotNpmDependencies } from './npm-deps.ts';
import { beforeOfPush, changedFilesOfPush } from './push.ts';
import { type CacheSave, saveNpmCache } from './save-cache.ts';
import { type SnapshotUpload, uploadDependencySnapshot } from './snapshot.ts';

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
  /** npm's cache folder as the user wrote it (`~/.npm`); saved under exactly this string. */
  npmCache: string;
  saveCache: boolean;
  /** The pushed commit (`GITHUB_SHA`); HEAD when absent. */
  sha: string | undefined;
  /** The event payload (`GITHUB_EVENT_PATH`), whose `before` starts the pushed range. */
  eventPath: string | undefined;
  /** Where per-run folders of the warmer go (`RUNNER_TEMP`). */
  workRoot: string | undefined;
  /** The npm user config warming reads (the runner's, never the checkout's `.npmrc`). */
  userconfig: string;
  log: (line: string) => void;
  warn: (line: string) => void;
}

/** What the mode reports back as outputs and job summary. */
export interface PrewarmReport {
  cacheKey: string;
  lockfiles: Lockfile[];
  hotFiles: HotFile[];
  dependencies: HotDependencies;
  /** Share of the hot set's npm packages in the cache before warming; undefined when it has none. */
  hitRateEstimate: number | undefined;
  warmOutcomes: NpmWarmOutcome[];
  warmed: boolean;
  cacheSave: CacheSave | undefined;
  snapshot: SnapshotUpload | undefined;
  summary: string;
}

/** At most this many predicted files join the changed ones. */
const PREDICTED_LIMIT = 20;

/** `~` and `~/x` to the home folder; anything else as given. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/**
 * The prewarm mode: the cache key from the lockfiles; the push's changed files plus the files the
 * co-change model predicts from the history; their npm imports against the declared dependencies
 * and the npm cache; the packages missing from the cache warmed into it; then, optionally, the
 * cache saved with actions/cache and the lockfile's dependency snapshot uploaded to the hub; and
 * the job summary.
 */
export async function runPrewarm(run: PrewarmRun): Promise<PrewarmReport> {
  if (existsSync(join(run.repoDir, '.git', 'shallow'))) {
    run.warn(
      `the checkout is shallow; history-depth ${run.historyDepth} needs the commit history: set 'fetch-depth: 0' on actions/checkout`,
    );
  }
  const lockfiles = await findLockfiles(run.repoDir);
  const key = cacheKey(run.os, lockfiles);
  // Without a readable history (not a git checkout, no commits) there is no hot set, but the key
  // and the rest of the run still stand.
  let push = { range: 'unknown', files: [] as string[] };
  let hot: HotFile[] = [];
  try {
    push = await changedFilesOfPush(run.repoDir, run.sha, beforeOfPush(run.eventPath));
    run.log(`Push ${push.range} changed ${push.files.length} file(s)`);
    const predicted = await predictHotSet({
      repoDir: run.repoDir,
      changed: push.files,
      historyDepth: run.historyDepth,
      limit: PREDICTED_LIMIT,
    });
    hot = predicted.hot;
    run.log(`Hot set: ${hot.length} file(s), from ${predicted.commitsLearnt} commit(s) of history`);
  } catch (error) {
    run.warn(
      `no hot set: the git history of ${run.repoDir} could not be read (${(error as Error).message.split('\n')[0]})`,
    );
  }
  const npmCache = expandHome(run.npmCache);
  const dependencies = await hotNpmDependencies(
    run.repoDir,
    hot.map((file) => file.path),
    npmCache,
  );
  for (const problem of dependencies.problems) run.warn(problem);
  const hitRateEstimate =
    dependencies.imported.length === 0
      ? undefined
      : dependencies.cached.length / dependencies.imported.length;
  const warmOutcomes = await warmNpm(
    dependencies.candidates.map((c) => ({ name: c.name, range: c.range ?? '' })),
    {
      sharedCache: npmCache,
      workRoot: join(run.workRoot ?? tmpdir(), 'warmsync-prewarm'),
      counter: createTallyCounter(),
      log: run.warn,
      userconfig: run.userconfig,
    },
  );
  const warmed = warmOutcomes.some((outcome) => outcome.ok && outcome.published > 0);
  const cacheSave = run.saveCache ? await saveNpmCache(run.npmCache, key) : undefined;
  const snapshot =
    run.serverUrl && run.workspace
      ? await uploadDependencySnapshot({
          repoDir: run.repoDir,
          serverUrl: run.serverUrl,
          workspace: run.workspace,
          token: run.token,
          npmCache,
          userconfig: run.userconfig,
          workRoot: run.workRoot ?? tmpdir(),
          log: run.log,
        })
      : undefined;
  const report = {
    cacheKey: key,
    lockfiles,
    hotFiles: hot,
    dependencies,
    hitRateEstimate,
    warmOutcomes,
    warmed,
    cacheSave,
    snapshot,
  };
  return { ...report, summary: renderSummary(report, push.range) };
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

function renderSummary(report: Omit<PrewarmReport, 'summary'>, range: string): string {
  const { dependencies, warmOutcomes } = report;
  const warmedBySpec = new Map(warmOutcomes.map((o) => [o.spec, o]));
  const hotRows = report.hotFiles.map((file) =>
    file.reason.kind === 'changed'
      ? `| \`${file.path}\` | changed | |`
      : `| \`${file.path}\` | predicted | score ${file.reason.score.toFixed(2)}, together in ${file.reason.support} commit(s), confidence ${percent(file.reason.confidence)} |`,
  );
  const dependencyRows = dependencies.imported.map((use) => {
    const candidate = dependencies.candidates.find((c) => c.name === use.name);
    if (!candidate) return `| \`${use.name}\` | | in cache | |`;
    const spec = candidate.range ? `${candidate.name}@${candidate.range}` : candidate.name;
    const outcome = warmedBySpec.get(spec);
    const result = outcome?.ok ? 'warmed' : `not warmed: ${outcome?.reason ?? 'not tried'}`;
    return `| \`${use.name}\` | ${candidate.range ?? '(not declared)'} | ${candidate.status}, not in cache | ${result.replace(/\|/g, '\\|')} |`;
  });
  return [
    '## warmsync prewarm',
    '',
    `Cache key: \`${report.cacheKey}\``,
    '',
    report.lockfiles.length === 0
      ? 'No lockfile found; the key covers an empty set.'
      : [
          '| Lockfile | SHA-256 |',
          '|---|---|',
          ...report.lockfiles.map((f) => `| \`${f.path}\` | \`${f.sha256}\` |`),
        ].join('\n'),
    '',
    `### Hot set of push ${range}`,
    '',
    hotRows.length === 0
      ? 'The push changed no file that still exists.'
      : ['| File | Why | Rule |', '|---|---|---|', ...hotRows].join('\n'),
    '',
    '### npm dependencies of the hot set',
    '',
    dependencyRows.length === 0
      ? 'The hot set imports no npm package: hit-rate estimate: no data.'
      : [
          `Hit-rate estimate (in the npm cache before warming): ${dependencies.cached.length} of ${dependencies.imported.length}, ${percent(report.hitRateEstimate ?? 0)}.`,
          '',
          '| Package | Declared range | Before | Warming |',
          '|---|---|---|---|',
          ...dependencyRows,
        ].join('\n'),
    '',
    report.warmed ? 'The npm cache was warmed.' : 'Nothing was warmed.',
    ...(report.cacheSave ? ['', report.cacheSave.note] : []),
    ...(report.snapshot ? ['', report.snapshot.note] : []),
    '',
  ].join('\n');
}
