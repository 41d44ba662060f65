/**
 * `warmsync prewarm`: the composition root of prediction. Scans a workspace for imported packages
 * that are missing or cold, predicts the files likely to change next from git history, and prints
 * both, as text or JSON.
 */
import { realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type Candidate, findCandidates } from '../prewarm/candidates.ts';
import { createCoChangeModel, createRecencyModel, type Prediction } from '../prewarm/cochange.ts';
import { createTallyCounter } from '../prewarm/counter.ts';
import { parseGoSum } from '../prewarm/go-sum.ts';
import type { PathFilter } from '../prewarm/path-filter.ts';
import type { Command } from './command.ts';
import { npmPolicyFromFlags } from './npm-flags.ts';
import { SNAPSHOT_HELP, wantsSnapshot } from './prewarm-snapshot-help.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync prewarm [DIR] [--from-history N] [--warm [warm options]] [--json]

Predicts what a workspace will need next and lists it:
  hot set      files likely to change next, from co-change rules mined from the last N commits
               and the files changed now (uncommitted); recently changed files if nothing is
  candidates   packages imported by JS/TS, Python or Go sources that no manifest declares
               (missing) or that are declared but not installed or cached (cold)

Options:
  DIR                 workspace folder (default: the current folder)
  --from-history N    commits of history to learn from (default 1000; 0 skips prediction)
  --warm              fetch the candidates into warmsync's shared caches (never into
                      node_modules, a virtualenv or Go's own module cache): npm packages
                      with npm, wheels with pip, modules with go mod download
  --npm-cache DIR     the shared npm cache to warm (default: ~/.cache/warmsync/npm); point
                      npm at it with --cache or npm_config_cache to install from it
  --npmrc FILE        the npm config warming uses (registry, auth); default your own
                      (npm_config_userconfig or ~/.npmrc), never one in DIR
  --pip-cache DIR     the shared wheel folder to warm (default: ~/.cache/warmsync/pip/wheels);
                      install from it with pip install --no-index --find-links DIR NAME
  --pip-index-url URL the simple index wheels come from (default: your pip configuration's)
  --go-cache DIR      the shared Go module cache to warm (default: ~/.cache/warmsync/go/mod);
                      build from it with GOMODCACHE=DIR GOFLAGS=-mod=mod (GOPROXY=off offline)
  --goproxy URL       the module proxy modules come from (default: your GOPROXY); checksum
                      settings (GOSUMDB, GONOSUMDB, GOPRIVATE) are yours, and modules DIR/go.sum
                      lists must match it
  --json              print one JSON document instead of text
  -h, --help          show this help

Paths listed in DIR/.prewarm-ignore (gitignore syntax) are kept out of both predictions.

${SNAPSHOT_HELP}`;

const HOT_SET_SIZE = 10;

const Flags = z.object({
  dir: z.string().min(1),
  fromHistory: z.coerce
    .number()
    .int('--from-history must be a whole number')
    .min(0, '--from-history must be 0 or more'),
  json: z.boolean(),
  warm: z.boolean(),
  npmCache: z.string().min(1, '--npm-cache needs a folder'),
  npmrc: z.string().min(1, '--npmrc needs a file').optional(),
  pipCache: z.string().min(1, '--pip-cache needs a folder'),
  pipIndexUrl: z.url({ error: '--pip-index-url must be a URL' }).optional(),
  goCache: z.string().min(1, '--go-cache needs a folder'),
  goproxy: z.string().min(1, '--goproxy needs a URL').optional(),
});

/** What `warmsync prewarm` found, as printed with `--json`. */
export interface PrewarmReport {
  workspace: string;
  changedNow: string[];
  hotSet: Array<Pick<Prediction, 'file' | 'score' | 'support' | 'confidence'>>;
  hotSetSource: 'co-change' | 'recency' | 'none';
  candidates: Candidate[];
  warmed: string[];
  filesScanned: number;
  commitsLearned: number;
  problems: string[];
}

const OPTIONS = {
  'from-history': { type: 'string' },
  json: { type: 'boolean' },
  warm: { type: 'boolean' },
  'npm-cache': { type: 'string' },
  npmrc: { type: 'string' },
  'pip-cache': { type: 'string' },
  'pip-index-url': { type: 'string' },
  'go-cache': { type: 'string' },
  goproxy: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readArgs(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UserError(`prewarm: ${(error as Error).message}`, 2);
  }
}

function parseFlags(args: string[]): z.infer<typeof Flags> | 'help' {
  const parsed = readArgs(args);
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length > 1) throw new UserError('prewarm: expected at most one folder', 2);
  const flags = Flags.safeParse({
    dir: parsed.positionals[0] ?? '.',
    fromHistory: parsed.values['from-history'] ?? '1000',
    json: parsed.values.json ?? false,
    warm: parsed.values.warm ?? false,
    npmCache: parsed.values['npm-cache'] ?? join(homedir(), '.cache', 'warmsync', 'npm'),
    npmrc: parsed.values.npmrc,
    pipCache: parsed.values['pip-cache'] ?? join(homedir(), '.cache', 'warmsync', 'pip', 'wheels'),
    pipIndexUrl: parsed.values['pip-index-url'],
    goCache: parsed.values['go-cache'] ?? join(homedir(), '.cache', 'warmsync', 'go', 'mod'),
    goproxy: parsed.values.goproxy,
  });
  if (!flags.success) throw new UserError(`prewarm: ${flags.error.issues[0]?.message}`, 2);
  return flags.data;
}

async function predictHotSet(
  workspace: string,
  commits: number,
  filter: PathFilter,
  problems: string[],
): Promise<Pick<PrewarmReport, 'changedNow' | 'hotSet' | 'hotSetSource' | 'commitsLearned'>> {
  const none = { changedNow: [], hotSet: [], hotSetSource: 'none' as const, commitsLearned: 0 };
  if (commits === 0) return none;
  const { readHistory, readWorkingChanges } = await import('../prewarm/history.ts');
  let history: Awaited<ReturnType<typeof readHistory>>;
  let changedNow: string[];
  try {
    history = await readHistory(workspace, { maxCommits: commits, filter });
    changedNow = await readWorkingChanges(workspace, filter);
  } catch (error) {
    problems.push(`history: not read (${(error as Error).message.split('\n')[0]})`);
    return none;
  }
  const coChange = createCoChangeModel();
  const recency = createRecencyModel();
  let commitsLearned = 0;
  for (const commit of history) {
    if (coChange.learn(commit.files)) commitsLearned++;
    recency.learn(commit.files);
  }
  const predicted = coChange.predict(changedNow, HOT_SET_SIZE);
  if (predicted.length > 0)
    return { changedNow, hotSet: predicted, hotSetSource: 'co-change', commitsLearned };
  return {
    changedNow,
    hotSet: recency.predict(changedNow, HOT_SET_SIZE),
    hotSetSource: 'recency',
    commitsLearned,
  };
}

function renderText(report: PrewarmReport): string {
  const lines = [`workspace: ${report.workspace}`, `changed now: ${report.changedNow.length} file(s)`];
  lines.push(`hot set (${report.hotSetSource}, from ${report.commitsLearned} commits):`);
  if (report.hotSet.length === 0) lines.push('  (none)');
  for (const p of report.hotSet) {
    const why =
      report.hotSetSource === 'co-change'
        ? `  confidence ${p.confidence.toFixed(2)}, support ${p.support}`
        : '';
    lines.push(`  ${p.file}${why}`);
  }
  lines.push(`candidates (${report.filesScanned} source files scanned):`);
  if (report.candidates.length === 0) lines.push('  (none)');
  for (const c of report.candidates) {
    const range = c.range ? `@${c.range}` : '';
    lines.push(`  ${c.ecosystem} ${c.name}${range}  ${c.status}  (${c.importedBy.length} importer(s))`);
  }
  lines.push(`warmed: ${report.warmed.length === 0 ? '(nothing)' : report.warmed.join(', ')}`);
  if (report.problems.length > 0)
    lines.push(`problems (${report.problems.length}):`, ...report.problems.map((p) => `  ${p}`));
  return lines.join('\n');
}

/** The `prewarm` sub-command. */
export const prewarmCommand: Command = {
  summary: 'predict the files and packages a workspace will need next',
  async run(args) {
    if (wantsSnapshot(args) && !args.includes('--help') && !args.includes('-h'))
      return (await import('./prewarm-snapshot.ts')).runSnapshotCommand(args);
    const flags = parseFlags(args);
    if (flags === 'help') {
      console.log(HELP);
      return 0;
    }
    const workspace = resolve(flags.dir);
    const isFolder = await stat(workspace).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isFolder) throw new UserError(`prewarm: '${flags.dir}' is not a folder`);
    // Loaded here, not at the top: the snapshot modes above must start without the parsers.
    const { loadPathFilter, scanWorkspace } = await import('../prewarm/scan.ts');
    const filter = await loadPathFilter(workspace);
    const scan = await scanWorkspace(workspace, { filter });
    const problems = [...scan.problems];
    const prediction = await predictHotSet(workspace, flags.fromHistory, filter, problems);
    const candidates = findCandidates(scan.imported, scan.dependencies);
    // Warming runs no package code whatever the flags say: `npm cache add` of registry versions,
    // `pip download` of wheels, `go mod download`.
    const warmed = flags.warm
      ? await (await import('./prewarm-warm.ts')).warmCandidates(
          candidates,
          {
            npmCache: resolve(flags.npmCache),
            userconfig: npmPolicyFromFlags(
              { allowScripts: false, npmrc: flags.npmrc },
              realpathSync(workspace),
              (note) => problems.push(note),
            ).userconfig,
            pipCache: resolve(flags.pipCache),
            pipIndexUrl: flags.pipIndexUrl,
            goCache: resolve(flags.goCache),
            goproxy: flags.goproxy,
            goSums: parseGoSum(await readFile(join(workspace, 'go.sum'), 'utf8').catch(() => '')),
          },
          createTallyCounter(),
          problems,
        )
      : [];
    const report: PrewarmReport = {
      workspace,
      ...prediction,
      candidates,
      warmed,
      filesScanned: scan.filesScanned,
      problems,
    };
    console.log(flags.json ? JSON.stringify(report, null, 2) : renderText(report));
    return 0;
  },
};
