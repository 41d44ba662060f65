/**
 * What the commands that act on one workspace (`conflicts`, `resolve`, `history`, `restore`) share:
 * finding the hub and workspace (flags, WARMSYNC_* variables, else the agent running on the
 * current folder, else the warmsync.toml of the folder or one above it), turning PATH arguments
 * into workspace paths, and one checked request.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { z } from 'zod';
import { isHubUrl, serverUrls } from '../agent/client.ts';
import { certificateProblem, describeCertificateProblem, hubTls } from '../agent/hub-tls.ts';
import { checkRelativePath } from '../core/paths.ts';
import { describeZodError, workspaceNameSchema } from '../core/protocol.ts';
import { agentHolding } from './control-client.ts';
import { findProjectFile } from './project.ts';
import { readCaOption } from './tls-files.ts';
import { UserError } from './user-error.ts';

/** The flags every workspace command takes. */
export const WORKSPACE_FLAGS = {
  server: { type: 'string' },
  workspace: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  state: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

export const WORKSPACE_HELP = `Hub options (default: the hub and workspace of the agent running on this folder):
  --server URL        hub address (or WARMSYNC_SERVER; default http://127.0.0.1:7420)
  --workspace NAME    the workspace (or WARMSYNC_WORKSPACE)
  --token TOKEN       a credential of the workspace (or WARMSYNC_TOKEN)
  --ca FILE           also trust this private CA (PEM) for an https:// hub (or WARMSYNC_CA)
  --state DIR         the state folder of the agent on this folder, when it was started with --state`;

export interface WorkspaceTarget {
  server: string;
  workspace: string;
  token?: string;
  ca?: string[];
  /** The synced folder PATH arguments are relative to, when an agent on it was found. */
  root?: string;
}

/**
 * The hub and workspace to ask: `--server`/`--workspace` (or their variables) when given, else
 * those of the agent running on the current folder or one above it, whose folder then anchors
 * PATH arguments.
 */
export async function workspaceTarget(values: {
  server?: string;
  workspace?: string;
  token?: string;
  ca?: string;
  state?: string;
}): Promise<WorkspaceTarget> {
  const here = realpathSync(process.cwd());
  const named = values.workspace ?? process.env.WARMSYNC_WORKSPACE;
  const agent = await agentHolding(here, values);
  // The folder's warmsync.toml comes after the running agent, which knows what it syncs with.
  const project = agent ? undefined : findProjectFile(here);
  const workspace = named ?? agent?.workspace ?? project?.settings.workspace;
  if (!workspace)
    throw new UserError(
      `no agent runs on ${here} or a folder above it: run this in a synced folder, or give --workspace (or WARMSYNC_WORKSPACE)`,
      2,
    );
  if (!workspaceNameSchema.safeParse(workspace).success)
    throw new UserError(`invalid workspace name '${workspace}'`, 2);
  const server =
    serverUrls(
      values.server ??
        process.env.WARMSYNC_SERVER ??
        agent?.server ??
        project?.settings.server ??
        'http://127.0.0.1:7420',
    )[0] ?? '';
  if (!isHubUrl(server))
    throw new UserError(`--server must be a URL such as http://127.0.0.1:7420, not '${server}'`, 2);
  const target: WorkspaceTarget = { server, workspace };
  const token = values.token ?? process.env.WARMSYNC_TOKEN;
  if (token) target.token = token;
  const ca = readCaOption(values.ca);
  if (ca) target.ca = ca;
  if (agent && agent.workspace === workspace) target.root = agent.dir;
  else if (project && project.settings.workspace === workspace) target.root = project.root;
  return target;
}

/**
 * The workspace path a PATH argument names: relative to the current folder inside the synced
 * folder when there is one, else taken as a path of the workspace itself.
 */
export function workspacePath(target: WorkspaceTarget, arg: string): string {
  let path = arg;
  if (target.root) {
    const absolute = resolve(realpathSync(process.cwd()), arg);
    path = relative(target.root, absolute);
    if (path === '' || path.startsWith('..') || isAbsolute(path))
      throw new UserError(`${arg} is not inside the synced folder ${target.root}`, 2);
    path = path.split(sep).join('/');
  } else path = path.replace(/^(\.\/)+/, '');
  const check = checkRelativePath(path, { allowGit: true });
  if (!check.ok) throw new UserError(`${arg}: ${check.reason}`, 2);
  return path;
}

/** One request to the workspace's routes, its answer checked against `schema`. */
export async function workspaceRequest<T extends z.ZodType>(
  target: WorkspaceTarget,
  method: 'GET' | 'POST',
  route: string,
  schema: T,
  body?: unknown,
): Promise<z.infer<T>> {
  const url = `${target.server}/v1/workspaces/${encodeURIComponent(target.workspace)}/${route}`;
  let reply: Response;
  try {
    reply = await fetch(url, {
      method,
      headers: {
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      tls: hubTls(target.ca),
    });
  } catch (error) {
    const problem = certificateProblem(error);
    if (problem) throw new UserError(describeCertificateProblem(target.server, problem));
    throw new UserError(`cannot reach the hub at ${target.server}: ${(error as Error).message}`);
  }
  const json = (await reply.json().catch(() => undefined)) as { message?: string } | undefined;
  if (reply.status === 401)
    throw new UserError('the hub refused the credential (401); pass one with --token or WARMSYNC_TOKEN');
  if (!reply.ok)
    throw new UserError(
      `the hub answered ${reply.status}${json?.message ? `: ${json.message}` : ` to ${method} ${route}`}`,
    );
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`the hub's answer to ${route} is malformed: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** Rows as aligned columns under a header. */
export function renderTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
