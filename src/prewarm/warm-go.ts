/**
 * Warms a Go module cache that builds read offline (`GOMODCACHE=DIR GOPROXY=off GOFLAGS=-mod=mod`)
 * or that serves as a proxy (`GOPROXY=file://DIR/cache/download`). Each module version is fetched
 * by the real `go mod download -json` into a module cache of its own inside a per-run folder; its
 * zip and go.mod are then hashed by warmsync (Go's `h1:` hashes) and compared with what the go
 * command reported, with the `.ziphash` it wrote and with the workspace's go.sum when that lists
 * the module; only then are the download files (`.mod`, `.zip`, `.ziphash`, `.info`, in that
 * order, so go never sees a `.ziphash` before its zip) published into the shared cache,
 * atomically and never over a different file. A run that fails, times out or disagrees anywhere
 * publishes nothing. Failures are logged and counted, never thrown.
 *
 * Warming runs no code: `go mod download` only fetches and verifies, `GOTOOLCHAIN=local` keeps go
 * from fetching and starting another toolchain, and the run folder holds its own go.mod so no
 * go.mod or go.work above it is read. GOPROXY is the one given, else the user's; GOSUMDB,
 * GONOSUMDB, GOPRIVATE and GOINSECURE are the user's, as they set them.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { z } from 'zod';
import type { PrewarmCounter } from './counter.ts';
import { goModHash, zipHash } from './go-sum.ts';
import { makeRunFolder, publishFile, removeRunFolder, type WarmOutcome, warmEach } from './warm-runs.ts';

/** A module version to warm; an empty version means `latest`. */
export interface GoSpec {
  path: string;
  version: string;
}

/** Dependencies and limits of {@link warmGo}. */
export interface GoWarmOptions {
  /** The shared module cache (what GOMODCACHE takes). */
  sharedCache: string;
  /** Where per-run folders are made and collected. */
  workRoot: string;
  counter: PrewarmCounter;
  log: (message: string) => void;
  /** go executable. Default `go`. */
  go?: string;
  /** GOPROXY; default the user's (environment, then `go env -w`, then Go's default). */
  goproxy?: string;
  /** The workspace's go.sum hashes (see parseGoSum); a module listed there must match them. */
  sums?: ReadonlyMap<string, string>;
  /** The environment go runs in (GOSUMDB, GONOSUMDB, GOPRIVATE...). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Modules fetched at once. Default 4. */
  concurrency?: number;
  /** Per-module limit for the go process. Default 60 s. */
  timeoutMs?: number;
  /** Run folders older than this are removed. Default 15 min. */
  runTtlMs?: number;
}

const RUN_PREFIX = 'go-run-';
/** A module path as `go` accepts it; never an option or a relative folder. */
const MODULE_PATH = /^[A-Za-z0-9][A-Za-z0-9._~/-]*$/;
/** A semantic version (pseudo-versions and `+incompatible` included) or `latest`. */
const VERSION = /^(latest|v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+incompatible)?)$/;

const Download = z.object({
  Path: z.string(),
  Version: z.string(),
  Error: z.string().optional(),
  Info: z.string().optional(),
  GoMod: z.string().optional(),
  Zip: z.string().optional(),
  Sum: z.string().optional(),
  GoModSum: z.string().optional(),
});

function runGo(
  go: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<z.infer<typeof Download>> {
  return new Promise((resolve, reject) => {
    execFile(go, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', env }, (error, stdout, stderr) => {
      if (error?.killed) return reject(new Error(`go timed out after ${timeoutMs} ms`));
      let report: z.infer<typeof Download> | undefined;
      try {
        report = Download.parse(JSON.parse(`${stdout}`));
      } catch {
        report = undefined;
      }
      if (report?.Error) return reject(new Error(report.Error));
      if (error || !report) {
        const firstLine = `${stderr}`.split('\n').find((line) => line.trim() !== '') ?? error?.message;
        return reject(new Error(`${firstLine ?? 'go mod download printed no report'}`.trim()));
      }
      resolve(report);
    });
  });
}

/** A file the go command reported, which must lie in the run's own download cache. */
function inRunCache(download: string, file: string | undefined, what: string): string {
  if (!file) throw new Error(`go reported no ${what} file`);
  const inside = relative(download, file);
  if (inside.startsWith('..') || isAbsolute(inside)) throw new Error(`go put the ${what} outside the run`);
  return inside;
}

async function warmOne(spec: GoSpec, options: GoWarmOptions): Promise<WarmOutcome> {
  const version = spec.version.trim() === '' ? 'latest' : spec.version.trim();
  const text = `${spec.path}@${version}`;
  if (!MODULE_PATH.test(spec.path) || !VERSION.test(version)) {
    const reason = `'${text}' is not a module path at a module version (replacements are never warmed)`;
    options.log(`prewarm: go ${text} not warmed: ${reason}`);
    return { spec: text, ok: false, published: 0, reason };
  }
  options.counter.attempt('go');
  let run: string | undefined;
  try {
    run = await makeRunFolder(options.workRoot, RUN_PREFIX);
    // Stops go's search for a go.mod in the folders above the run.
    await writeFile(join(run, 'go.mod'), 'module warmsync.invalid/prewarm\n');
    const modCache = join(run, 'mod');
    const base = options.env ?? process.env;
    const env: NodeJS.ProcessEnv = {
      ...base,
      GOMODCACHE: modCache,
      GOFLAGS: '-mod=mod',
      GOTOOLCHAIN: 'local',
      GOWORK: 'off',
      GO111MODULE: 'on',
    };
    if (options.goproxy) env.GOPROXY = options.goproxy;
    const report = await runGo(
      options.go ?? 'go',
      ['mod', 'download', '-json', text],
      run,
      options.timeoutMs ?? 60_000,
      env,
    );
    if (report.Path !== spec.path) throw new Error(`go downloaded ${report.Path}, not ${spec.path}`);
    if (version !== 'latest' && report.Version !== version)
      throw new Error(`go downloaded ${report.Version}, not ${version}`);
    const download = join(modCache, 'cache', 'download');
    const zip = inRunCache(download, report.Zip, 'zip');
    const goMod = inRunCache(download, report.GoMod, 'go.mod');
    const info = inRunCache(download, report.Info, 'info');
    const zipHashFile = zip.replace(/\.zip$/, '.ziphash');
    const sum = await zipHash(join(download, zip), `${report.Path}@${report.Version}/`);
    const goModSum = goModHash(await readFile(join(download, goMod)));
    const recorded = (await readFile(join(download, zipHashFile), 'utf8')).trim();
    if (sum !== report.Sum || sum !== recorded)
      throw new Error(`the zip hashes to ${sum}, not ${report.Sum}`);
    if (goModSum !== report.GoModSum)
      throw new Error(`the go.mod hashes to ${goModSum}, not ${report.GoModSum}`);
    const listedSum = options.sums?.get(`${report.Path} ${report.Version}`);
    const listedModSum = options.sums?.get(`${report.Path} ${report.Version}/go.mod`);
    if (listedSum !== undefined && listedSum !== sum)
      throw new Error(`go.sum lists ${listedSum}, the zip is ${sum}`);
    if (listedModSum !== undefined && listedModSum !== goModSum)
      throw new Error(`go.sum lists ${listedModSum} for the go.mod, it is ${goModSum}`);
    const infoJson = z
      .object({ Version: z.string() })
      .parse(JSON.parse(await readFile(join(download, info), 'utf8')));
    if (infoJson.Version !== report.Version) throw new Error(`the .info names ${infoJson.Version}`);
    let published = 0;
    for (const file of [goMod, zip, zipHashFile, info]) {
      const target = join(options.sharedCache, 'cache', 'download', file);
      if ((await publishFile(join(download, file), target)) === 'published') published++;
    }
    options.counter.hit('go');
    return { spec: `${report.Path}@${report.Version}`, ok: true, published };
  } catch (error) {
    const reason = (error as Error).message;
    options.log(`prewarm: go ${text} not warmed: ${reason}`);
    return { spec: text, ok: false, published: 0, reason };
  } finally {
    if (run) await removeRunFolder(run);
  }
}

/**
 * Warms the shared module cache with `specs`, at most `concurrency` at a time, after collecting
 * expired run folders. Resolves with one outcome per spec, in order; never rejects.
 *
 * @example
 * const outcomes = await warmGo([{ path: 'golang.org/x/text', version: 'v0.14.0' }], {
 *   sharedCache: '/home/me/.cache/warmsync/go/mod', workRoot: '/tmp/warmsync-prewarm',
 *   counter, log: console.warn,
 * });
 */
export function warmGo(specs: readonly GoSpec[], options: GoWarmOptions): Promise<WarmOutcome[]> {
  return warmEach(specs, options, RUN_PREFIX, (spec) => warmOne(spec, options));
}
