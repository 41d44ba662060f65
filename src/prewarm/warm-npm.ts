/**
 * Warms npm's cache, never an install tree. Each package is fetched by the real `npm` into a
 * private cache inside a per-run folder; every entry of that cache is then read back with its
 * integrity checked and only then written into the shared cache through cacache, npm's own cache
 * library, whose writes are atomic and safe for concurrent writers. A run that fails, times out
 * or yields a corrupt entry publishes nothing. Failures are logged and counted, never thrown.
 *
 * Warming runs no code: only registry versions are fetched (a git or folder dependency would run
 * its `prepare` script while being packed), npm is told to ignore scripts anyway, and it reads
 * only the user config it is given, from a run folder holding nothing but an empty package.json.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cacache from 'cacache';
import type { PrewarmCounter } from './counter.ts';
import { npmPolicyArgs, npmPolicyEnv } from './npm-policy.ts';
import { isRegistryRange } from './npm-specifier.ts';

/** A package to warm: name and version range (empty means the latest version). */
export interface NpmSpec {
  name: string;
  range: string;
}

/** What happened to one package. */
export interface NpmWarmOutcome {
  spec: string;
  ok: boolean;
  /** Cache entries (packument, tarball) published into the shared cache. */
  published: number;
  /** One sentence when `ok` is false. */
  reason?: string;
}

/** Dependencies and limits of {@link warmNpm}. */
export interface NpmWarmOptions {
  /** The shared npm cache folder (what `npm --cache` takes; cacache lives in its `_cacache`). */
  sharedCache: string;
  /** Where per-run folders are made and collected. */
  workRoot: string;
  counter: PrewarmCounter;
  log: (message: string) => void;
  /** npm executable. Default `npm`. */
  npm?: string;
  /** Registry URL; default npm's configured one. */
  registry?: string;
  /**
   * The npm user config (registry, auth for private registries): the user's own file, never one
   * from the synced tree (see npm-policy.ts).
   */
  userconfig: string;
  /** Packages fetched at once. Default 4. */
  concurrency?: number;
  /** Per-package limit for the npm process. Default 60 s. */
  timeoutMs?: number;
  /** Run folders older than this are removed. Default 15 min. */
  runTtlMs?: number;
}

const RUN_PREFIX = 'run-';

/** `name@range`, or just `name` for an empty range. */
export function npmSpecText(spec: NpmSpec): string {
  return spec.range.trim() === '' ? spec.name : `${spec.name}@${spec.range.trim()}`;
}

/**
 * Removes run folders under `workRoot` whose last change is older than `ttlMs`: leftovers of
 * runs that crashed or were killed. Live runs are younger than the TTL, which exceeds any
 * timeout. Returns how many were removed.
 */
export async function collectExpiredRuns(workRoot: string, ttlMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const entry of await readdir(workRoot).catch(() => [])) {
    if (!entry.startsWith(RUN_PREFIX)) continue;
    const folder = join(workRoot, entry);
    const age = await stat(folder).then(
      (s) => now - s.mtimeMs,
      () => -1,
    );
    if (age > ttlMs) {
      await rm(folder, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

function runNpm(
  npm: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: Record<string, string>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(npm, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', env }, (error, _out, stderr) => {
      if (!error) return resolve();
      const firstLine = `${stderr}`.split('\n').find((line) => line.includes('error')) ?? error.message;
      reject(new Error(error.killed ? `npm timed out after ${timeoutMs} ms` : firstLine.trim()));
    });
  });
}

/**
 * Reads every entry of the private cache back, which makes cacache check each one's content
 * against its recorded integrity, then writes them all to the shared cache. Content is written
 * before its index entry, so the shared cache never points at missing data.
 */
async function verifyAndPublish(privateCacache: string, sharedCacache: string): Promise<number> {
  const entries = Object.values(await cacache.ls(privateCacache));
  if (entries.length === 0) throw new Error('npm left nothing in the cache');
  const verified = [];
  for (const entry of entries) {
    const read = await cacache.get(privateCacache, entry.key); // rejects with EINTEGRITY on corruption
    verified.push({ key: entry.key, ...read });
  }
  for (const entry of verified) {
    await cacache.put(sharedCacache, entry.key, entry.data, {
      integrity: entry.integrity,
      metadata: entry.metadata,
      size: entry.size,
    });
  }
  return verified.length;
}

async function warmOne(spec: NpmSpec, options: NpmWarmOptions): Promise<NpmWarmOutcome> {
  const text = npmSpecText(spec);
  if (!isRegistryRange(spec.range)) {
    const reason = `'${spec.range.trim()}' is not a registry version (git, file and URL specs are never warmed)`;
    options.log(`prewarm: npm ${text} not warmed: ${reason}`);
    return { spec: text, ok: false, published: 0, reason };
  }
  options.counter.attempt('npm');
  const run = join(options.workRoot, `${RUN_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(run, { recursive: true });
    // npm takes the nearest folder with a package.json as the project and reads its .npmrc: this
    // one has none, where a shared temp folder above it might.
    await writeFile(join(run, 'package.json'), '{}\n');
    const privateCache = join(run, 'cache');
    const args = [
      'cache',
      'add',
      text,
      '--cache',
      privateCache,
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ];
    if (options.registry) args.push('--registry', options.registry);
    // `npm cache add` never needs a script: they stay off whatever --allow-scripts says.
    const policy = { allowScripts: false, userconfig: options.userconfig };
    args.push(...npmPolicyArgs(policy));
    await runNpm(
      options.npm ?? 'npm',
      args,
      run,
      options.timeoutMs ?? 60_000,
      npmPolicyEnv(policy, process.env),
    );
    const published = await verifyAndPublish(
      join(privateCache, '_cacache'),
      join(options.sharedCache, '_cacache'),
    );
    options.counter.hit('npm');
    return { spec: text, ok: true, published };
  } catch (error) {
    const reason = (error as Error).message;
    options.log(`prewarm: npm ${text} not warmed: ${reason}`);
    return { spec: text, ok: false, published: 0, reason };
  } finally {
    await rm(run, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Warms the shared npm cache with `specs`, at most `concurrency` at a time, after collecting
 * expired run folders. Resolves with one outcome per spec, in order; never rejects.
 *
 * @example
 * const outcomes = await warmNpm([{ name: 'zod', range: '^4' }], {
 *   sharedCache: '/var/cache/warmsync/npm', workRoot: '/tmp/warmsync-prewarm',
 *   counter, log: console.warn, userconfig: '/home/me/.npmrc',
 * });
 */
export async function warmNpm(specs: readonly NpmSpec[], options: NpmWarmOptions): Promise<NpmWarmOutcome[]> {
  await mkdir(options.workRoot, { recursive: true }).catch(() => undefined);
  await collectExpiredRuns(options.workRoot, options.runTtlMs ?? 15 * 60_000).catch(() => 0);
  const outcomes: NpmWarmOutcome[] = new Array(specs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < specs.length) {
      const index = next++;
      const spec = specs[index];
      if (spec !== undefined) outcomes[index] = await warmOne(spec, options);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, specs.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return outcomes;
}
