/** `warmsync revert [PATH...]`: drops local changes that a receive-only mode kept local. */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parseFlags } from './args.ts';
import type { Command } from './command.ts';
import { ask, expectAnswer, LOCATE_FLAGS, LOCATE_HELP, type Located, locateAgent } from './control-client.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync revert [PATH...] [--dir DIR] [--state DIR]

In a folder (or path) that syncs receive-only, local edits stay local: 'warmsync status DIR'
lists them as kept-local. revert brings each named PATH (a file or a folder, relative to the
current folder) back to the workspace's version; with no PATH, every kept-local change. The
agent that runs on the folder holding the current folder does the work.

Options:
  --dir DIR           the synced folder (default: the nearest folder above the current one
                      that an agent runs on)
${LOCATE_HELP}`;

export const revertCommand: Command = {
  summary: "drop local changes that a receive-only path kept, taking the workspace's version",
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { ...LOCATE_FLAGS, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const cwd = realpathSync(process.cwd());
    const dirFlag = typeof values.dir === 'string' ? values.dir : undefined;
    const located = dirFlag ? await locateAgent(dirFlag, values) : await locateAbove(cwd, values);
    const paths = positionals.map((path) => insideFolder(located.dir, resolve(cwd, path), path));
    const answer = expectAnswer(
      await ask(located.socket, { type: 'revert', paths }, 10 * 60_000),
      'reverted',
    );
    if (answer.paths.length === 0) {
      console.log(
        `nothing to revert in ${located.dir}: no kept-local change${paths.length ? ' under those paths' : ''}`,
      );
      return 0;
    }
    for (const path of answer.paths) console.log(`reverted ${path}`);
    console.log(`reverted ${answer.paths.length} path(s) in ${located.dir}`);
    return 0;
  },
};

/** The agent running on `start` or the nearest folder above it. */
async function locateAbove(
  start: string,
  flags: { state?: string; server?: string; workspace?: string },
): Promise<Located> {
  let first: unknown;
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      return await locateAgent(dir, flags);
    } catch (error) {
      first ??= error;
      if (flags.state || dirname(dir) === dir) throw first;
    }
  }
}

/** A path relative to the synced folder; '' for the folder itself. */
function insideFolder(root: string, absolute: string, given: string): string {
  const inside = relative(root, absolute);
  if (inside.startsWith('..') || isAbsolute(inside))
    throw new UserError(`${given} is not inside the synced folder ${root}`, 2);
  return inside.split('\\').join('/');
}
