/** `warmsync conflicts`: the workspace's open conflicts, each with its copy and who made both sides. */
import { type ConflictsResponse, conflictsResponseSchema } from '../core/settle-protocol.ts';
import { parseFlags } from './args.ts';
import type { Command } from './command.ts';
import { UserError } from './user-error.ts';
import {
  renderTable,
  WORKSPACE_FLAGS,
  WORKSPACE_HELP,
  workspaceRequest,
  workspaceTarget,
} from './workspace-hub.ts';

const HELP = `Usage: warmsync conflicts [--json] [hub options]

Lists the workspace's open conflicts: each path whose concurrent edit the hub kept beside it as a
conflict copy, the copy's path, the agent whose version kept the path and the agent whose version
is in the copy, and the hub's sequence number and time of the commit that made it (oldest first).
Settle them with warmsync resolve.

Options:
  --json              print the list as JSON
${WORKSPACE_HELP}`;

export const conflictsCommand: Command = {
  summary: "list the workspace's open conflicts and their copies",
  async run(args) {
    const { values, positionals } = parseFlags(args, WORKSPACE_FLAGS, true);
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length > 0)
      throw new UserError('conflicts takes no arguments; see warmsync conflicts --help', 2);
    const target = await workspaceTarget(values);
    const reply = await workspaceRequest(target, 'GET', 'conflicts', conflictsResponseSchema);
    console.log(values.json ? JSON.stringify(reply.conflicts, null, 2) : renderConflicts(reply));
    return 0;
  },
};

export function renderConflicts(reply: ConflictsResponse): string {
  if (reply.conflicts.length === 0) return 'no open conflicts';
  return renderTable(
    ['PATH', 'COPY', 'KEPT BY', 'COPY BY', 'SEQ', 'AT'],
    reply.conflicts.map((c) => [c.path, c.copyPath, c.keptAgent, c.copyAgent, String(c.seq), c.at]),
  );
}
