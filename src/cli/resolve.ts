/** `warmsync resolve`: settles conflicts on the hub, so every agent gets the result. */
import { z } from 'zod';
import { resolveResponseSchema } from '../core/settle-protocol.ts';
import { parseFlags, validateFlags } from './args.ts';
import type { Command } from './command.ts';
import { UserError } from './user-error.ts';
import {
  WORKSPACE_FLAGS,
  WORKSPACE_HELP,
  workspacePath,
  workspaceRequest,
  workspaceTarget,
} from './workspace-hub.ts';

const HELP = `Usage: warmsync resolve PATH... --keep current|copy|both [hub options]
       warmsync resolve --all --keep current|copy|both [hub options]

Settles conflicts on the hub; every agent of the workspace applies the result. PATH is a conflicted
path or its conflict copy, relative to the current folder inside the synced folder (or a
workspace path with --workspace outside it); --all settles every open conflict.

  --keep current   keep the path as it is and delete the copy
  --keep copy      make the copy's content the path's new version and delete the copy (with
                   several copies of one path, the newest wins and the others are deleted)
  --keep both      keep both files as they are; the conflict is no longer listed

Nothing is lost: what a resolution replaces or deletes stays in the path's history (warmsync
history, warmsync restore). Each settlement is written to the hub's audit log. Exits 1 when a
PATH has no open conflict or could not be settled.

Options:
  --all               every open conflict of the workspace
  --keep CHOICE       current, copy or both
  --json              print the hub's answer as JSON
${WORKSPACE_HELP}`;

const keepSchema = z.object({
  keep: z.enum(['current', 'copy', 'both'], { message: '--keep must be current, copy or both' }),
});

export const resolveCommand: Command = {
  summary: 'settle conflicts: keep the current version, the copy, or both',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { ...WORKSPACE_FLAGS, all: { type: 'boolean', default: false }, keep: { type: 'string' } },
      true,
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values.keep === undefined) throw new UserError('resolve needs --keep current, copy or both', 2);
    const { keep } = validateFlags(keepSchema, { keep: values.keep });
    if (values.all === positionals.length > 0)
      throw new UserError('give the paths to resolve or --all, not both (and not neither)', 2);
    const target = await workspaceTarget(values);
    const body = values.all
      ? { all: true, keep }
      : { paths: positionals.map((p) => workspacePath(target, p)), keep };
    const reply = await workspaceRequest(target, 'POST', 'resolve', resolveResponseSchema, body);
    if (values.json) console.log(JSON.stringify(reply, null, 2));
    else if (reply.results.length === 0) console.log('no open conflicts');
    else
      for (const r of reply.results)
        console.log(
          r.status === 'settled'
            ? `${r.path}: ${r.message}`
            : `${r.path}: not settled: ${r.message}${r.code ? ` (${r.code})` : ''}`,
        );
    return reply.results.some((r) => r.status === 'refused') ? 1 : 0;
  },
};
