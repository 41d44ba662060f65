/** `warmsync token`: make, list and revoke workspace credentials on a hub (admin credential). */
import { z } from 'zod';
import { certificateProblem, describeCertificateProblem, hubTls } from '../agent/hub-tls.ts';
import { parseFlags, validateFlags } from './args.ts';
import type { Command } from './command.ts';
import { readCaOption } from './tls-files.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync token create --workspace NAME [--read-only] [--label TEXT] [hub options]
       warmsync token list [--json] [hub options]
       warmsync token revoke ID [hub options]

Workspace credentials open one workspace, read-write or read-only, and belong to one agent: the
first agent that uses one is bound to it, so give each machine its own. The hub keeps only a hash
of each; the token is printed once, by create. Pass it to an agent with --token or WARMSYNC_TOKEN.

Hub options (these commands need the admin credential):
  --server URL   hub address (default WARMSYNC_SERVER or http://127.0.0.1:7420)
  --token TOKEN  the admin credential (or WARMSYNC_TOKEN; the hub keeps it in DATA/admin-token)
  --ca FILE      also trust this private CA (PEM) for an https:// hub's certificate (or WARMSYNC_CA)`;

const hubSchema = z.object({
  server: z.string().url(),
  token: z.string().min(1).optional(),
  ca: z.array(z.string()).optional(),
});

const credentialSchema = z.object({
  id: z.string(),
  workspace: z.string(),
  readOnly: z.boolean(),
  label: z.string(),
  agent: z.string().optional(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});
const createdSchema = z.object({
  id: z.string(),
  token: z.string(),
  workspace: z.string(),
  readOnly: z.boolean(),
});

export const tokenCommand: Command = {
  summary: 'create, list and revoke workspace credentials',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      {
        server: { type: 'string' },
        token: { type: 'string' },
        ca: { type: 'string' },
        workspace: { type: 'string' },
        'read-only': { type: 'boolean', default: false },
        label: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    const [action, ...rest] = positionals;
    if (values.help || action === undefined) {
      console.log(HELP);
      return values.help ? 0 : 2;
    }
    const hub = validateFlags(hubSchema, {
      server: String(values.server ?? process.env.WARMSYNC_SERVER ?? 'http://127.0.0.1:7420').replace(
        /\/+$/,
        '',
      ),
      token: values.token ?? process.env.WARMSYNC_TOKEN,
      ca: readCaOption(values.ca as string | undefined),
    });
    const call = (method: string, path: string, body?: unknown) => request(hub, method, path, body);
    if (action === 'create') {
      if (!values.workspace) throw new UserError('token create needs --workspace NAME', 2);
      const reply = createdSchema.parse(
        await call('POST', '/v1/credentials', {
          workspace: values.workspace,
          readOnly: values['read-only'],
          label: values.label ?? '',
        }),
      );
      if (values.json) console.log(JSON.stringify(reply));
      else {
        console.log(reply.token);
        console.error(
          `credential ${reply.id} for workspace ${reply.workspace}${reply.readOnly ? ' (read-only)' : ''}; shown once, keep it secret`,
        );
      }
      return 0;
    }
    if (action === 'list') {
      const reply = z
        .object({ credentials: z.array(credentialSchema) })
        .parse(await call('GET', '/v1/credentials'));
      if (values.json) console.log(JSON.stringify(reply.credentials, null, 2));
      else console.log(renderList(reply.credentials));
      return 0;
    }
    if (action === 'revoke') {
      const [id] = rest;
      if (!id) throw new UserError('token revoke needs the credential id (see token list)', 2);
      await call('DELETE', `/v1/credentials/${encodeURIComponent(id)}`);
      console.log(`revoked ${id}`);
      return 0;
    }
    throw new UserError(`unknown token action '${action}'; use create, list or revoke`, 2);
  },
};

async function request(
  hub: z.infer<typeof hubSchema>,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  let reply: Response;
  try {
    reply = await fetch(`${hub.server}${path}`, {
      method,
      headers: {
        ...(hub.token ? { authorization: `Bearer ${hub.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      tls: hubTls(hub.ca),
    });
  } catch (error) {
    const problem = certificateProblem(error);
    if (problem) throw new UserError(describeCertificateProblem(hub.server, problem));
    throw new UserError(`cannot reach the hub at ${hub.server}: ${(error as Error).message}`);
  }
  const json = (await reply.json().catch(() => undefined)) as { message?: string } | undefined;
  if (reply.status === 401)
    throw new UserError(
      'the hub refused the credential (401); pass the admin one with --token or WARMSYNC_TOKEN',
    );
  if (!reply.ok)
    throw new UserError(
      `the hub answered ${reply.status} to ${method} ${path}${json?.message ? `: ${json.message}` : ''}`,
    );
  if (json === undefined) throw new UserError(`the hub's answer to ${path} is not JSON`);
  return json;
}

function renderList(credentials: z.infer<typeof credentialSchema>[]): string {
  if (credentials.length === 0) return 'no workspace credentials';
  const rows = credentials.map((c) => [
    c.id,
    c.workspace,
    c.readOnly ? 'read-only' : 'read-write',
    c.revokedAt ? `revoked ${c.revokedAt}` : 'live',
    c.agent ?? '-',
    c.label,
  ]);
  const header = ['ID', 'WORKSPACE', 'ACCESS', 'STATE', 'AGENT', 'LABEL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
