/**
 * What every npm that warmsync starts may do. The synced folder is written by peers, so nothing
 * in it may decide what runs or where npm connects:
 * - no lifecycle scripts (the project's own or its dependencies') unless the user passed
 *   `--allow-scripts`;
 * - no npm configuration from the synced tree: npm's user config is named explicitly and is never
 *   a file inside the workspace, and npm always runs in a folder warmsync made that holds only a
 *   `package.json` (and a lockfile), so the project `.npmrc` it would look for does not exist.
 *
 * Pure: the caller resolves links and reads the environment, this decides.
 */
import { isAbsolute, join, relative } from 'node:path';

/** How the npm processes of one command run. */
export interface NpmPolicy {
  /** Run lifecycle scripts (`preinstall`, `install`, `postinstall`, `prepare`...): opt-in only. */
  allowScripts: boolean;
  /** The file npm reads as its user config (`--userconfig`); never inside the synced folder. */
  userconfig: string;
}

/** The npm user config to use, and a sentence when the usual one had to be left out. */
export interface UserconfigChoice {
  path: string;
  note?: string;
}

/** True when `path` is `folder` or lies beneath it (both absolute, links already resolved). */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The user config npm should read: `--npmrc` when given, else the one npm itself would pick
 * (`npm_config_userconfig`, else `~/.npmrc`): the user's own file, outside the peers' reach. One
 * that lies inside the synced folder (a home folder that is synced, a link into the workspace) is
 * replaced by `emptyConfig`, with a note saying so. `workspace` must have its links resolved;
 * `realpath` resolves a candidate's (and may return it as it is when it does not exist).
 *
 * @example
 * chooseUserconfig({ env: {}, home: '/home/me', workspace: '/home/me/app', emptyConfig: '/dev/null',
 *   realpath: (p) => p }); // { path: '/home/me/.npmrc' }
 */
export function chooseUserconfig(input: {
  npmrc?: string;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  workspace: string;
  emptyConfig: string;
  realpath: (path: string) => string;
}): UserconfigChoice {
  const fromEnv = Object.entries(input.env).find(
    ([key]) => key.toLowerCase() === 'npm_config_userconfig',
  )?.[1];
  const path = input.realpath(input.npmrc ?? (fromEnv || join(input.home, '.npmrc')));
  if (!isInside(path, input.workspace)) return { path };
  return {
    path: input.emptyConfig,
    note: `npm user config ${path} is inside the synced folder; npm runs without a user config`,
  };
}

/**
 * Flags that carry the policy; they outrank every npmrc. With scripts allowed nothing is added,
 * so an `ignore-scripts` in the user's own config still holds.
 */
export function npmPolicyArgs(policy: NpmPolicy): string[] {
  return [...(policy.allowScripts ? [] : ['--ignore-scripts']), '--userconfig', policy.userconfig];
}

/**
 * The environment npm runs with. The flags reach npm itself; the same settings as variables reach
 * the npm processes it starts in turn (preparing a git dependency runs `npm install` in the
 * clone), where environment variables outrank the clone's own `.npmrc`.
 */
export function npmPolicyEnv(
  policy: NpmPolicy,
  base: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const replaced = new Set([
    'npm_config_userconfig',
    ...(policy.allowScripts ? [] : ['npm_config_ignore_scripts']),
  ]);
  const env: Record<string, string> = {};
  // npm reads its variables case-insensitively: a differently cased copy must not survive.
  for (const [key, value] of Object.entries(base))
    if (value !== undefined && !replaced.has(key.toLowerCase())) env[key] = value;
  env.npm_config_userconfig = policy.userconfig;
  if (!policy.allowScripts) env.npm_config_ignore_scripts = 'true';
  return env;
}
