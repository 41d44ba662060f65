/**
 * Cold start of a workspace's dependencies: the time from a checkout without node_modules to a
 * complete node_modules, four ways in one invocation, several rounds, medians:
 * - `npm ci` with an empty npm cache, against the registry (what a fresh container does);
 * - `npm ci --prefer-offline` with a warm npm cache (what pre-warming the npm cache buys);
 * - `warmsync prewarm --restore` from a loopback hub (`warmsync serve` as a child process);
 * - the floor: `tar -I zstd -xf` of the same node_modules from the same disk.
 * Every npm ci runs with --ignore-scripts: that is what warmsync installs unless told otherwise,
 * and a snapshot holds registry tarballs only, so all four produce the same tree.
 * The four run interleaved within each round, so a noisy neighbour slows them alike. `sync` runs
 * before every timed run (outside the clock) so one run's dirty pages do not slow the next.
 *
 *   bun scripts/bench/cold-start.ts [<project-dir>] [--runs N] [--json]
 *
 * Without <project-dir>, a project depending on eslint, webpack, @babel/core and typescript is
 * made and installed once (for its lockfile) under the OS temp folder, and reused afterwards.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './lib/stats.ts';

const REPO = resolve(import.meta.dir, '../..');
const CLI = join(REPO, 'src/cli/main.ts');
const DEFAULT_PROJECT = join(tmpdir(), 'warmsync-bench', 'cold-start-project');
const DEFAULT_DEPENDENCIES = {
  '@babel/core': '^7.26.0',
  '@babel/preset-env': '^7.26.0',
  eslint: '^9.17.0',
  typescript: '^5.7.2',
  webpack: '^5.97.1',
  'webpack-cli': '^6.0.1',
};

export type ColdStartMethod =
  | 'npm-ci-empty-cache'
  | 'npm-ci-warm-cache'
  | 'warmsync-restore'
  | 'tar-zstd-floor';

export interface ColdStartResult {
  project: string;
  packages: number;
  files: number;
  runs: number;
  /** Seconds per run, by method. */
  samples: Record<ColdStartMethod, number[]>;
  medians: Record<ColdStartMethod, number>;
}

function sh(cmd: string[], cwd?: string): void {
  const result = spawnSync(cmd[0]!, cmd.slice(1), {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
  });
  if (result.status !== 0) throw new Error(`${cmd.join(' ')} failed (${result.status}): ${result.stderr}`);
}

function timed(cmd: string[], cwd?: string): number {
  sh(['sync']);
  const started = performance.now();
  sh(cmd, cwd);
  return (performance.now() - started) / 1000;
}

/** The default project, installed once so it has a lockfile. */
export function defaultProject(log: (line: string) => void): string {
  if (existsSync(join(DEFAULT_PROJECT, 'package-lock.json'))) return DEFAULT_PROJECT;
  mkdirSync(DEFAULT_PROJECT, { recursive: true });
  writeFileSync(
    join(DEFAULT_PROJECT, 'package.json'),
    JSON.stringify(
      {
        name: 'warmsync-cold-start-bench',
        version: '1.0.0',
        private: true,
        devDependencies: DEFAULT_DEPENDENCIES,
      },
      null,
      2,
    ),
  );
  log(`cold-start: installing ${DEFAULT_PROJECT} once for its lockfile`);
  sh(
    ['npm', 'install', '--package-lock-only', '--no-audit', '--no-fund', '--loglevel=error'],
    DEFAULT_PROJECT,
  );
  return DEFAULT_PROJECT;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitHealthy(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(50);
  }
  throw new Error(`hub at ${url} did not start`);
}

/** A checkout: the install inputs of `project` in a new folder `dir`. */
function checkout(project: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of ['package.json', 'package-lock.json', '.npmrc'])
    if (existsSync(join(project, name))) cpSync(join(project, name), join(dir, name));
}

function countFiles(root: string): number {
  let count = 0;
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) count++;
  return count;
}

/**
 * Measures the four ways. Leaves nothing behind but the default project (if it made it).
 *
 * @example
 * const result = await coldStart({ project: '/tmp/app', runs: 5, log: console.error });
 */
export async function coldStart(options: {
  project?: string;
  runs: number;
  log: (line: string) => void;
}): Promise<ColdStartResult> {
  const project = resolve(options.project ?? defaultProject(options.log));
  const scratch = mkdtempSync(join(tmpdir(), 'warmsync-cold-start-'));
  const bun = process.execPath;
  let hub: ReturnType<typeof Bun.spawn> | undefined;
  try {
    const warmCache = join(scratch, 'warm-cache');
    const reference = join(scratch, 'reference');
    checkout(project, reference);
    options.log('cold-start: reference install (fills the warm npm cache)');
    sh(
      ['npm', 'ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', '--cache', warmCache],
      reference,
    );
    // npm's hidden lockfile is the one file a restore does not make.
    const files = countFiles(join(reference, 'node_modules')) - 1;
    const packages = Object.keys(
      (await Bun.file(join(reference, 'node_modules', '.package-lock.json')).json()).packages ?? {},
    ).length;
    const tarball = join(scratch, 'node_modules.tar.zst');
    sh(['tar', '-I', 'zstd', '-cf', tarball, '-C', reference, 'node_modules']);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    hub = Bun.spawn(
      [bun, CLI, 'serve', '--data', join(scratch, 'hub'), '--port', String(port), '--no-auth'],
      {
        stdout: 'ignore',
        stderr: 'ignore',
      },
    );
    await waitHealthy(url);
    options.log('cold-start: uploading the snapshot');
    sh([bun, CLI, 'prewarm', reference, '--server', url, '--workspace', 'bench', '--npm-cache', warmCache]);

    const samples: Record<ColdStartMethod, number[]> = {
      'npm-ci-empty-cache': [],
      'npm-ci-warm-cache': [],
      'warmsync-restore': [],
      'tar-zstd-floor': [],
    };
    const target = join(scratch, 'checkout');
    const npm = ['npm', 'ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
    for (let round = 1; round <= options.runs; round++) {
      const emptyCache = join(scratch, `empty-cache-${round}`);
      checkout(project, target);
      samples['npm-ci-empty-cache'].push(timed([...npm, '--cache', emptyCache], target));
      rmSync(emptyCache, { recursive: true, force: true });
      checkout(project, target);
      samples['npm-ci-warm-cache'].push(timed([...npm, '--prefer-offline', '--cache', warmCache], target));
      checkout(project, target);
      samples['warmsync-restore'].push(
        timed([
          bun,
          CLI,
          'prewarm',
          target,
          '--restore',
          '--server',
          url,
          '--workspace',
          'bench',
          '--npm-cache',
          emptyCache,
        ]),
      );
      if (round === 1 && countFiles(join(target, 'node_modules')) !== files)
        throw new Error('the restored node_modules does not hold the reference tree');
      checkout(project, target);
      samples['tar-zstd-floor'].push(timed(['tar', '-I', 'zstd', '-xf', tarball, '-C', target]));
      options.log(
        `cold-start: round ${round}/${options.runs}: ${Object.entries(samples)
          .map(([k, v]) => `${k} ${v.at(-1)?.toFixed(2)} s`)
          .join(', ')}`,
      );
    }
    const medians = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<
      ColdStartMethod,
      number
    >;
    return { project, packages, files, runs: options.runs, samples, medians };
  } finally {
    hub?.kill();
    await hub?.exited;
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The result as a Markdown table with ratios to the floor and to `npm ci` with an empty cache. */
export function renderColdStart(result: ColdStartResult): string {
  const m = result.medians;
  const label: Record<ColdStartMethod, string> = {
    'npm-ci-empty-cache': '`npm ci`, empty npm cache (registry)',
    'npm-ci-warm-cache': '`npm ci --prefer-offline`, warm npm cache',
    'warmsync-restore': 'warmsync snapshot restore (loopback hub)',
    'tar-zstd-floor': 'floor: `tar -I zstd -xf` from the same disk',
  };
  const lines = [
    `Cold start of ${result.project}: ${result.packages} packages, ${result.files} files; median of ${result.runs} runs.`,
    '',
    '| method | median | min | max | × floor | speed-up over empty-cache `npm ci` |',
    '|---|---|---|---|---|---|',
  ];
  for (const method of Object.keys(label) as ColdStartMethod[]) {
    const s = result.samples[method];
    lines.push(
      `| ${label[method]} | ${m[method].toFixed(2)} s | ${Math.min(...s).toFixed(2)} s | ${Math.max(...s).toFixed(2)} s | ` +
        `${(m[method] / m['tar-zstd-floor']).toFixed(2)}× | ${(m['npm-ci-empty-cache'] / m[method]).toFixed(1)}× |`,
    );
  }
  const vsFloor = m['warmsync-restore'] / m['tar-zstd-floor'];
  const vsCold = m['npm-ci-empty-cache'] / m['warmsync-restore'];
  lines.push(
    '',
    `Targets: restore within 1.5× of the floor: ${vsFloor.toFixed(2)}× (${vsFloor <= 1.5 ? 'met' : 'missed'}); ` +
      `at least 5× faster than empty-cache npm ci: ${vsCold.toFixed(1)}× (${vsCold >= 5 ? 'met' : 'missed'}).`,
  );
  return lines.join('\n');
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Bun.argv.slice(2),
    options: { runs: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number of 1 or more');
  const result = await coldStart({ project: positionals[0], runs, log: (line) => console.error(line) });
  console.log(values.json ? JSON.stringify(result, null, 2) : renderColdStart(result));
}
