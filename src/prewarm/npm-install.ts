/**
 * `npm ci` in a throwaway folder that holds only the project's package.json and package-lock.json:
 * what a snapshot is built from, and the fallback when the hub has no snapshot. Running npm in a
 * copy keeps the workspace's own `node_modules` out of reach until a complete tree can be renamed
 * into place, and keeps the workspace's `.npmrc` out of npm's sight: npm takes the copy as the
 * project and finds no `.npmrc` there (see npm-policy.ts for what else every npm run obeys).
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TEMP_FILE_PREFIX } from '../core/paths.ts';
import { type NpmPolicy, npmPolicyArgs, npmPolicyEnv } from './npm-policy.ts';
import { currentPlatform } from './snapshot-manifest.ts';

/**
 * The files npm needs to reproduce an install. Never `.npmrc`: it comes from the synced tree and
 * could point the registry anywhere or name a `script-shell`.
 */
const INSTALL_INPUTS = ['package.json', 'package-lock.json'];

export interface NpmCiOptions {
  /** npm executable. Default `npm`. */
  npm?: string;
  /** npm cache to use (`--cache`); with it npm prefers what is cached. */
  cache?: string;
  /** Scripts and configuration (npm-policy.ts). */
  policy: NpmPolicy;
  /** Limit for the whole install. Default 10 minutes. */
  timeoutMs?: number;
}

/** Why an install did not happen: npm is not installed, or it ran and failed. */
export class InstallError extends Error {
  constructor(
    readonly code: 'no-npm' | 'npm-failed' | 'no-lockfile' | 'exists',
    message: string,
  ) {
    super(message);
    this.name = 'InstallError';
  }
}

/**
 * The platform npm picks optional dependencies for: `process.platform-process.arch`, plus the C
 * library on Linux (`linux-x64-glibc`), as the `node` on the PATH that runs npm sees it; this
 * runtime's when there is none. A snapshot restores only where it matches.
 */
export function installPlatform(): string {
  const probe = spawnSync('node', ['-p', PLATFORM_PROBE], { encoding: 'utf8', timeout: 10_000 });
  const platform = probe.status === 0 ? probe.stdout.trim() : '';
  return platform || currentPlatform();
}

/** What currentPlatform computes, as a `node -p` expression. */
const PLATFORM_PROBE =
  "process.platform + '-' + process.arch + (process.platform === 'linux' ? (process.report.getReport().header.glibcVersionRuntime ? '-glibc' : '-musl') : '')";

/** `dir/package-lock.json`'s bytes and their hex SHA-256, or undefined when there is none. */
export function readLockfile(dir: string): { bytes: Buffer; hash: string } | undefined {
  try {
    const bytes = readFileSync(join(dir, 'package-lock.json'));
    return { bytes, hash: createHash('sha256').update(bytes).digest('hex') };
  } catch {
    return undefined;
  }
}

/** Hex SHA-256 of `dir/package-lock.json`, or undefined when there is none. */
export function lockfileHash(dir: string): string | undefined {
  return readLockfile(dir)?.hash;
}

/** Copies the install inputs of `project` into a new folder `staging` (which must not exist). */
export function stageInstallInputs(project: string, staging: string): void {
  if (!existsSync(join(project, 'package-lock.json')))
    throw new InstallError('no-lockfile', `${project} has no package-lock.json`);
  mkdirSync(staging, { recursive: true });
  for (const name of INSTALL_INPUTS)
    if (existsSync(join(project, name))) copyFileSync(join(project, name), join(staging, name));
}

/** Runs `npm ci` in `folder`. Rejects with InstallError. */
export function npmCi(folder: string, options: NpmCiOptions): Promise<void> {
  const args = ['ci', '--no-audit', '--no-fund', '--loglevel=error'];
  if (options.cache) args.push('--cache', options.cache, '--prefer-offline');
  return runNpm('ci', folder, [...args, ...npmPolicyArgs(options.policy)], options);
}

/**
 * Runs the install scripts of the packages in `folder/node_modules` (`npm rebuild`): what a tree
 * restored from a snapshot, which holds registry tarballs only, needs when scripts are allowed.
 */
export function npmRebuild(folder: string, options: NpmCiOptions): Promise<void> {
  const args = ['rebuild', '--no-audit', '--no-fund', '--loglevel=error'];
  if (options.cache) args.push('--cache', options.cache, '--prefer-offline');
  return runNpm('rebuild', folder, [...args, ...npmPolicyArgs(options.policy)], options);
}

function runNpm(what: string, folder: string, args: string[], options: NpmCiOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      options.npm ?? 'npm',
      args,
      {
        cwd: folder,
        env: npmPolicyEnv(options.policy, process.env),
        timeout: options.timeoutMs ?? 600_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, _out, stderr) => {
        if (!error) return resolve();
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          return reject(new InstallError('no-npm', 'npm is not installed'));
        const line = `${stderr}`.split('\n').find((l) => l.includes('ERR')) ?? error.message;
        reject(new InstallError('npm-failed', `npm ${what} failed: ${line.trim()}`));
      },
    );
  });
}

/**
 * Installs `project`'s lockfile with `npm ci` in a staging folder inside `project` and renames the
 * finished `node_modules` into place: `project/node_modules` is never half-written. The staging
 * folder carries the agent's temporary-name prefix, so it never syncs, and is always removed.
 *
 * @example
 * await installInPlace('/workspaces/web', {
 *   cache: '~/.cache/warmsync/npm',
 *   policy: { allowScripts: false, userconfig: '/home/me/.npmrc' },
 * });
 */
export async function installInPlace(project: string, options: NpmCiOptions): Promise<void> {
  const staging = join(project, `${TEMP_FILE_PREFIX}npm-ci-${randomBytes(6).toString('hex')}`);
  try {
    stageInstallInputs(project, staging);
    await npmCi(staging, options);
    try {
      renameSync(join(staging, 'node_modules'), join(project, 'node_modules'));
    } catch (error) {
      throw new InstallError(
        'exists',
        `node_modules appeared during npm ci; left as it is (${(error as Error).message})`,
      );
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
