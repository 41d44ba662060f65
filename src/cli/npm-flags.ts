/**
 * `--allow-scripts` and `--npmrc FILE`, shared by `agent` and `prewarm`: the npm policy of the
 * command (src/prewarm/npm-policy.ts), resolved against the real file system here at the edge.
 */
import { realpathSync, statSync } from 'node:fs';
import { devNull, homedir } from 'node:os';
import { resolve } from 'node:path';
import { chooseUserconfig, isInside, type NpmPolicy } from '../prewarm/npm-policy.ts';
import { UserError } from './user-error.ts';

/** Help lines for the two flags, indented as the commands' help is. */
export const NPM_FLAGS_HELP = `  --allow-scripts       let npm run install scripts (the project's and its dependencies'
                        preinstall, install, postinstall, prepare); off by default, since
                        package.json and package-lock.json arrive from peers
  --npmrc FILE          the npm config installs and warming use (registry, auth); default
                        your own (npm_config_userconfig or ~/.npmrc), never one in DIR`;

function realpathOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * The policy for npm runs on behalf of `workspace` (links resolved). Refuses an `--npmrc` that
 * does not exist or lies inside the workspace; `log` hears when the default user config had to
 * be left out for lying inside it.
 */
export function npmPolicyFromFlags(
  flags: { allowScripts: boolean; npmrc?: string },
  workspace: string,
  log: (line: string) => void,
): NpmPolicy {
  if (flags.npmrc !== undefined) {
    const path = realpathOrSame(flags.npmrc);
    if (!statSync(path, { throwIfNoEntry: false })?.isFile())
      throw new UserError(`--npmrc ${flags.npmrc} is not a file`, 2);
    if (isInside(path, workspace)) throw new UserError('--npmrc must be outside the synced folder', 2);
  }
  const choice = chooseUserconfig({
    npmrc: flags.npmrc,
    env: process.env,
    home: homedir(),
    workspace,
    emptyConfig: devNull,
    realpath: realpathOrSame,
  });
  if (choice.note) log(choice.note);
  return { allowScripts: flags.allowScripts, userconfig: choice.path };
}
