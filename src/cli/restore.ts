/** `warmsync restore`: brings a kept version of a path back as its new version on every agent. */
import { z } from 'zod';
import { restoreResponseSchema } from '../core/settle-protocol.ts';
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

const HELP = `Usage: warmsync restore PATH [--version N | --before TIME] [hub options]

Brings back a version of PATH that the hub keeps (see warmsync history PATH) as the path's new
version, on every agent of the workspace; the version it replaces goes to history in turn. Run it
in the synced folder: PATH is relative to the current folder (or a workspace path with
--workspace outside it). Works for deleted paths too.

Options:
  --version N         the version numbered N in warmsync history
  --before TIME       the newest version the hub accepted before TIME (ISO 8601, such as
                      2026-07-14T09:30:00Z, or a date)
                      without either: the newest version before the current one (an undo)
  --json              print the hub's answer as JSON
${WORKSPACE_HELP}`;

const flagsSchema = z.object({
  version: z.coerce.number().int().positive().optional(),
  before: z
    .string()
    .refine((value) => !Number.isNaN(Date.parse(value)), '--before must be a date and time (ISO 8601)')
    .transform((value) => new Date(Date.parse(value)).toISOString())
    .optional(),
});

export const restoreCommand: Command = {
  summary: 'bring back a kept version of a path on every agent',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      { ...WORKSPACE_FLAGS, version: { type: 'string' }, before: { type: 'string' } },
      true,
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UserError('restore takes one PATH: warmsync restore PATH', 2);
    const choice = validateFlags(flagsSchema, { version: values.version, before: values.before });
    if (choice.version !== undefined && choice.before !== undefined)
      throw new UserError('give --version or --before, not both', 2);
    const target = await workspaceTarget(values);
    const path = workspacePath(target, positionals[0]!);
    const reply = await workspaceRequest(target, 'POST', 'restore', restoreResponseSchema, {
      path,
      ...choice,
    });
    if (values.json) console.log(JSON.stringify(reply, null, 2));
    else if (reply.unchanged) console.log(`${path} already holds version ${reply.restored}`);
    else console.log(`${path}: version ${reply.restored} restored as version ${reply.seq}`);
    return 0;
  },
};
