/**
 * Warms a folder of wheels that a dev container installs from offline
 * (`pip install --no-index --find-links DIR NAME`), never a virtualenv. Each distribution is
 * fetched by the real pip into a per-run folder, with pip's own HTTP cache inside that folder
 * too; the file is then checked (a wheel of the distribution asked for, its METADATA agreeing
 * with its name, an exact pin honoured) and only then published into the shared folder under
 * its own name, atomically and never over a different file of that name. A run that fails,
 * times out or yields anything else publishes nothing. Failures are logged and counted, never
 * thrown.
 *
 * Warming runs no package code: `--only-binary=:all:` means pip downloads wheels only, so no
 * source distribution is built (building one runs its setup.py or build backend), `--no-deps`
 * keeps it to the one distribution, and `pip download` installs nothing. pip checks each file
 * against the `#sha256=` fragment of the index's link when the link has one. The index is the one
 * given, else the one in the user's pip configuration (pip reads no configuration from the
 * folder it runs in, and the run folder holds nothing anyway).
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrewarmCounter } from './counter.ts';
import { pinnedVersion, pipRequirement } from './pip-specifier.ts';
import { makeRunFolder, publishFile, removeRunFolder, type WarmOutcome, warmEach } from './warm-runs.ts';
import { checkWheel } from './wheel-check.ts';

/** A distribution to warm: name and declared range (empty means the latest version). */
export interface PipSpec {
  name: string;
  range: string;
}

/** Dependencies and limits of {@link warmPip}. */
export interface PipWarmOptions {
  /** The shared wheel folder (what `pip install --find-links` takes). */
  sharedCache: string;
  /** Where per-run folders are made and collected. */
  workRoot: string;
  counter: PrewarmCounter;
  log: (message: string) => void;
  /** Python interpreter whose pip is run. Default `python3`. */
  python?: string;
  /**
   * The environment pip runs in, which carries the user's pip settings (PIP_CONFIG_FILE,
   * PIP_INDEX_URL, proxies...). Default `process.env`.
   */
  env?: NodeJS.ProcessEnv;
  /** Simple index URL (PEP 503); default the index in the user's pip configuration. */
  indexUrl?: string;
  /** Distributions fetched at once. Default 4. */
  concurrency?: number;
  /** Per-distribution limit for the pip process. Default 60 s. */
  timeoutMs?: number;
  /** Run folders older than this are removed. Default 15 min. */
  runTtlMs?: number;
}

const RUN_PREFIX = 'pip-run-';

function runPip(
  python: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  base: NodeJS.ProcessEnv,
): Promise<void> {
  const env = {
    ...base,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
    // Downloading changes no environment, so a user's "virtualenvs only" rule does not apply.
    PIP_REQUIRE_VIRTUALENV: '0',
  };
  return new Promise((resolve, reject) => {
    execFile(python, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', env }, (error, _out, stderr) => {
      if (!error) return resolve();
      const firstLine = `${stderr}`.split('\n').find((line) => line.startsWith('ERROR')) ?? error.message;
      reject(new Error(error.killed ? `pip timed out after ${timeoutMs} ms` : firstLine.trim()));
    });
  });
}

async function warmOne(spec: PipSpec, options: PipWarmOptions): Promise<WarmOutcome> {
  const wanted = pipRequirement(spec.name, spec.range);
  const text = wanted.ok ? wanted.requirement : `${spec.name} ${spec.range}`.trim();
  if (!wanted.ok) {
    options.log(`prewarm: pypi ${text} not warmed: ${wanted.reason}`);
    return { spec: text, ok: false, published: 0, reason: wanted.reason };
  }
  options.counter.attempt('pypi');
  let run: string | undefined;
  try {
    run = await makeRunFolder(options.workRoot, RUN_PREFIX);
    const dest = join(run, 'dest');
    await mkdir(dest);
    const args = [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--dest',
      dest,
      '--cache-dir',
      join(run, 'pip-cache'),
      '--progress-bar',
      'off',
      '--quiet',
    ];
    if (options.indexUrl) args.push('--index-url', options.indexUrl);
    args.push(wanted.requirement);
    await runPip(
      options.python ?? 'python3',
      args,
      run,
      options.timeoutMs ?? 60_000,
      options.env ?? process.env,
    );
    const files = await readdir(dest);
    if (files.length !== 1 || !files[0])
      throw new Error(`pip left ${files.length} files, expected one wheel`);
    const wheel = join(dest, files[0]);
    const identity = await checkWheel(wheel, spec.name, pinnedVersion(wanted.requirement));
    const result = await publishFile(wheel, join(options.sharedCache, identity.file));
    options.counter.hit('pypi');
    return { spec: text, ok: true, published: result === 'published' ? 1 : 0 };
  } catch (error) {
    const reason = (error as Error).message;
    options.log(`prewarm: pypi ${text} not warmed: ${reason}`);
    return { spec: text, ok: false, published: 0, reason };
  } finally {
    if (run) await removeRunFolder(run);
  }
}

/**
 * Warms the shared wheel folder with `specs`, at most `concurrency` at a time, after collecting
 * expired run folders. Resolves with one outcome per spec, in order; never rejects.
 *
 * @example
 * const outcomes = await warmPip([{ name: 'requests', range: '>=2.31' }], {
 *   sharedCache: '/home/me/.cache/warmsync/pip/wheels', workRoot: '/tmp/warmsync-prewarm',
 *   counter, log: console.warn,
 * });
 */
export function warmPip(specs: readonly PipSpec[], options: PipWarmOptions): Promise<WarmOutcome[]> {
  return warmEach(specs, options, RUN_PREFIX, (spec) => warmOne(spec, options));
}
