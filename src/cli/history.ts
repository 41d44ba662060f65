/** `warmsync history`: the versions of one path the hub keeps. */
import { type HistoryResponse, historyResponseSchema } from '../core/settle-protocol.ts';
import { parseFlags } from './args.ts';
import type { Command } from './command.ts';
import { UserError } from './user-error.ts';
import {
  renderTable,
  WORKSPACE_FLAGS,
  WORKSPACE_HELP,
  workspacePath,
  workspaceRequest,
  workspaceTarget,
} from './workspace-hub.ts';

const HELP = `Usage: warmsync history PATH [--json] [hub options]

Lists the versions of PATH the hub keeps, newest first: the current one and every version sync
replaced or deleted within the retention period (serve --history-days, default 7 days). VERSION is
the hub's sequence number of the commit that made it; bring one back with
warmsync restore PATH --version VERSION. PATH is relative to the current folder inside the
synced folder (or a workspace path with --workspace outside it).

Options:
  --json              print the versions as JSON
${WORKSPACE_HELP}`;

export const historyCommand: Command = {
  summary: 'list the versions of a path the hub keeps',
  async run(args) {
    const { values, positionals } = parseFlags(args, WORKSPACE_FLAGS, true);
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UserError('history takes one PATH: warmsync history PATH', 2);
    const target = await workspaceTarget(values);
    const path = workspacePath(target, positionals[0]!);
    const query = `history?path=${encodeURIComponent(path)}`;
    const reply = await workspaceRequest(target, 'GET', query, historyResponseSchema);
    console.log(values.json ? JSON.stringify(reply, null, 2) : renderHistory(reply));
    return 0;
  },
};

export function renderHistory(reply: HistoryResponse): string {
  if (reply.versions.length === 0) return `the hub keeps no version of ${reply.path}`;
  const what = (v: HistoryResponse['versions'][number]) =>
    v.kind === 'file'
      ? `file, ${v.size} bytes, ${v.hash?.slice(0, 12)}`
      : v.kind === 'symlink'
        ? `link to ${v.target}`
        : v.kind === 'deleted'
          ? 'deleted'
          : 'folder';
  const table = renderTable(
    ['VERSION', 'WHAT', 'BY', 'AT', 'REPLACED'],
    reply.versions.map((v) => [
      String(v.version),
      what(v),
      v.agent,
      v.at,
      v.current ? 'current' : `${v.replacedAt ?? ''} by ${v.replacedBy ?? '?'}`,
    ]),
  );
  return `${reply.path} (replaced versions kept ${reply.retentionDays} days)\n${table}`;
}
