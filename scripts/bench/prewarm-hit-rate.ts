/**
 * Pre-warm hit rate over a history replay: of the npm packages a commit newly imports (imported
 * by a changed JS/TS file after the commit and not by the same file before it), the share that
 * was already warm in the shared npm cache when the commit landed.
 *
 * What counts as warm before commit C, replaying oldest first (each source is reported apart):
 * - declared: declared in the root package.json of C's parent (a snapshot or `npm ci` of the
 *   lockfile fetched it);
 * - imported earlier: imported by a file some earlier commit of the replay changed (the agent
 *   warmed it when that file was pushed; the shared cache keeps it);
 * - predicted: imported by one of the 10 files the co-change model predicts from C's first changed
 *   file (as in prediction.ts), read at C's parent (warmed when the prediction was made).
 * Packages of the repository's own workspace (names of any package.json in the tree) are not
 * fetched from a registry and are left out.
 *
 *   bun scripts/bench/prewarm-hit-rate.ts <repo> [--commits N]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createCoChangeModel } from '../../src/prewarm/cochange.ts';
import { readHistory } from '../../src/prewarm/history.ts';
import { extractJsImports, isJsSource } from '../../src/prewarm/imports-js.ts';
import { parsePackageJson } from '../../src/prewarm/manifests.ts';

type Source = 'declared' | 'imported earlier' | 'predicted';

function show(repo: string, rev: string, path: string): string | undefined {
  const result = spawnSync('git', ['--git-dir', gitDir(repo), 'show', `${rev}:${path}`], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  return result.status === 0 ? result.stdout : undefined;
}

function gitDir(repo: string): string {
  const result = spawnSync('git', ['-C', repo, 'rev-parse', '--absolute-git-dir'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : repo;
}

function importsAt(repo: string, rev: string, path: string, cache: Map<string, string[]>): string[] {
  const key = `${rev}:${path}`;
  const known = cache.get(key);
  if (known) return known;
  const text = show(repo, rev, path);
  const packages = text === undefined ? [] : extractJsImports(path, text).packages;
  cache.set(key, packages);
  return packages;
}

function workspacePackages(repo: string): Set<string> {
  const dir = gitDir(repo);
  const list = spawnSync('git', ['--git-dir', dir, 'ls-tree', '-r', '--name-only', 'HEAD'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const names = new Set<string>();
  for (const path of list.stdout
    .split('\n')
    .filter((p) => /(^|\/)package\.json$/.test(p) && !p.includes('node_modules'))) {
    try {
      const name = (JSON.parse(show(repo, 'HEAD', path) ?? '{}') as { name?: unknown }).name;
      if (typeof name === 'string') names.add(name);
    } catch {
      // A fixture that is not JSON names no package.
    }
  }
  return names;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Bun.argv.slice(2),
    options: { commits: { type: 'string', default: '1000' } },
    allowPositionals: true,
  });
  const repo = positionals[0];
  const maxCommits = Number(values.commits);
  if (!repo || !Number.isInteger(maxCommits) || maxCommits < 1) {
    console.error('usage: bun scripts/bench/prewarm-hit-rate.ts <repo> [--commits N]');
    process.exit(2);
  }
  const history = await readHistory(repo, { maxCommits });
  const own = workspacePackages(repo);
  const model = createCoChangeModel();
  const cache = new Map<string, string[]>();
  const importedEarlier = new Set<string>();
  let newImports = 0;
  let warm = 0;
  const bySource: Record<Source, number> = { declared: 0, 'imported earlier': 0, predicted: 0 };
  let commitsWithNew = 0;
  for (const commit of history) {
    const parent = `${commit.hash}^`;
    const sources = commit.files.filter((f) => isJsSource(f) && !f.includes('node_modules/'));
    const fresh = new Set<string>();
    for (const file of sources) {
      const before = new Set(importsAt(repo, parent, file, cache));
      for (const name of importsAt(repo, commit.hash, file, cache))
        if (!before.has(name) && !own.has(name)) fresh.add(name);
    }
    if (fresh.size > 0) {
      commitsWithNew++;
      const declared = new Set(
        parsePackageJson(show(repo, parent, 'package.json') ?? '{}').declared.map((d) => d.name),
      );
      const first = commit.files[0];
      const predicted = new Set<string>();
      if (first)
        for (const p of model.predict([first], 10))
          if (isJsSource(p.file))
            for (const name of importsAt(repo, parent, p.file, cache)) predicted.add(name);
      for (const name of fresh) {
        newImports++;
        const source: Source | undefined = declared.has(name)
          ? 'declared'
          : importedEarlier.has(name)
            ? 'imported earlier'
            : predicted.has(name)
              ? 'predicted'
              : undefined;
        if (source) {
          warm++;
          bySource[source]++;
        }
      }
    }
    for (const file of sources)
      for (const name of importsAt(repo, commit.hash, file, cache)) importedEarlier.add(name);
    model.learn(commit.files);
    // Only the parent's and this commit's versions are read again; forget older ones.
    if (cache.size > 20_000) cache.clear();
  }
  const percent = (n: number) => (newImports === 0 ? 'n/a' : `${((n / newImports) * 100).toFixed(1)}%`);
  console.log(
    `Repository: ${repo}; ${history.length} non-merge commits replayed, ${commitsWithNew} newly import npm packages.`,
  );
  console.log('');
  console.log(
    '| newly imported packages | warm before the commit | via declared | via imported earlier | via predicted |',
  );
  console.log('|---|---|---|---|---|');
  console.log(
    `| ${newImports} | ${percent(warm)} | ${percent(bySource.declared)} | ${percent(bySource['imported earlier'])} | ${percent(bySource.predicted)} |`,
  );
}
