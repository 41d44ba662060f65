/** `warmsync status`: what the hub knows about its workspaces and agents. */
import { z } from 'zod';
import { isHubUrl, serverUrls } from '../agent/client.ts';
import { certificateProblem, describeCertificateProblem, hubTls } from '../agent/hub-tls.ts';
import { describeZodError, type Status, statusSchema } from '../core/protocol.ts';
import { parseFlags, validateFlags } from './args.ts';
import type { Command } from './command.ts';
import { ask, expectAnswer, locateAgent, renderAgentStatus } from './control-client.ts';
import { readCaOption } from './tls-files.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync status [--server URL] [--token TOKEN] [--ca FILE] [--json]
       warmsync status DIR [--state DIR] [--json]

Shows each workspace (head sequence, files, bytes, conflicts), its connected agents with their
cursors, how far behind they are, pending local changes, reported problems, and bytes moved.

With DIR (or --state), asks the agent running on DIR instead, over its control socket: running,
paused or halted (and why), its cursor, the hub head it has seen, pending counts both ways, and
each path not in sync with why. --state DIR names the agent's state folder when it was started
with --state; --server and --workspace then help find its default state folder.

Options:
  --server URL   hub address (default WARMSYNC_SERVER or http://127.0.0.1:7420)
  --token TOKEN  bearer token (or WARMSYNC_TOKEN)
  --ca FILE      also trust this private CA (PEM) for an https:// hub's certificate (or
                 WARMSYNC_CA); certificates are always verified
  --json         print the raw status as JSON`;

const flagsSchema = z.object({
  server: z
    .string()
    .transform((value) => serverUrls(value)[0] ?? '')
    .refine(isHubUrl, 'must be a URL such as http://127.0.0.1:7420 or https://hub.example.com:7420'),
  token: z.string().min(1).optional(),
  ca: z.string().min(1).optional(),
  json: z.boolean(),
});

export const statusCommand: Command = {
  summary: 'show workspaces, agents, conflicts and bytes moved',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      {
        server: { type: 'string' },
        workspace: { type: 'string' },
        state: { type: 'string' },
        token: { type: 'string' },
        ca: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length > 1) throw new UserError('expected at most one folder: warmsync status [DIR]', 2);
    if (positionals.length === 1 || values.state) {
      const located = await locateAgent(positionals[0], values);
      const { status } = expectAnswer(await ask(located.socket, { type: 'status' }, 30_000), 'status');
      console.log(values.json ? JSON.stringify(status, null, 2) : renderAgentStatus(status));
      return 0;
    }
    if (values.workspace) throw new UserError('--workspace goes with a folder: warmsync status DIR', 2);
    const flags = validateFlags(flagsSchema, {
      ...values,
      server: values.server ?? process.env.WARMSYNC_SERVER ?? 'http://127.0.0.1:7420',
      token: values.token ?? process.env.WARMSYNC_TOKEN,
    });
    const status = await fetchStatus(flags.server, flags.token, readCaOption(flags.ca));
    console.log(flags.json ? JSON.stringify(status, null, 2) : renderStatus(status));
    return 0;
  },
};

async function fetchStatus(
  server: string,
  token: string | undefined,
  ca: string[] | undefined,
): Promise<Status> {
  let reply: Response;
  try {
    reply = await fetch(`${server}/v1/status`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      tls: hubTls(ca),
    });
  } catch (error) {
    const problem = certificateProblem(error);
    if (problem) throw new UserError(describeCertificateProblem(server, problem));
    throw new UserError(`cannot reach the hub at ${server}: ${(error as Error).message}`);
  }
  if (reply.status === 401)
    throw new UserError('the hub refused the token (401); pass --token or WARMSYNC_TOKEN');
  if (!reply.ok) throw new UserError(`the hub answered ${reply.status} to /v1/status`);
  const parsed = statusSchema.safeParse(await reply.json().catch(() => undefined));
  if (!parsed.success)
    throw new UserError(`the hub's status is malformed: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** Human-readable status: one block per workspace, one line per agent. */
export function renderStatus(status: Status): string {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
  const lines = [`bytes moved: ${mb(status.bytesIn)} in, ${mb(status.bytesOut)} out`];
  if (status.workspaces.length === 0) lines.push('no workspaces yet');
  for (const ws of status.workspaces) {
    lines.push(
      '',
      `workspace ${ws.name}: head ${ws.head}, ${ws.files} paths, ${mb(ws.bytes)}, ${ws.conflicts} conflict(s)`,
    );
    if (ws.agents.length === 0) lines.push('  no agents connected');
    for (const a of ws.agents) {
      lines.push(
        `  agent ${a.id}: cursor ${a.cursor} (${a.behind} behind), ${a.pending} pending local change(s), connected ${a.connectedForSeconds}s`,
      );
      for (const p of a.problems) lines.push(`    problem: ${p.path}: ${p.message} (${p.code})`);
    }
  }
  return lines.join('\n');
}
