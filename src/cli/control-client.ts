/**
 * Talking to a running agent over its control socket: finding the socket for a folder and
 * sending one request. Shared by `flush`, `pause`, `resume` and `status DIR`.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { controlSocketPath, defaultStateDir, stateRoot } from '../agent/state-dir.ts';
import {
  type AgentStatus,
  CONTROL_LINE_MAX,
  type ControlAnswer,
  type ControlRequest,
  controlAnswerSchema,
} from '../core/control-protocol.ts';
import { describeZodError } from '../core/protocol.ts';
import { UserError } from './user-error.ts';

/** The flags every agent-control command takes to find its agent. */
export const LOCATE_FLAGS = {
  state: { type: 'string' },
  server: { type: 'string' },
  workspace: { type: 'string' },
} as const;

export const LOCATE_HELP = `  --state DIR         the agent's state folder, when it was started with --state
  --server URL        with --workspace: the agent's hub and workspace, to find its default state
  --workspace NAME    folder directly (else every agent under $XDG_STATE_HOME/warmsync is asked)`;

export interface Located {
  socket: string;
  dir: string;
}

/**
 * Finds the control socket of the agent running on `dirArg` (default: the current folder): the
 * `--state` folder; else the default state folder of (server, workspace, DIR) as the agent
 * computes it; else the running agent, among all default state folders, whose folder is DIR.
 */
export async function locateAgent(
  dirArg: string | undefined,
  flags: { state?: string; server?: string; workspace?: string },
): Promise<Located> {
  const dir = realFolder(dirArg ?? process.cwd());
  if (flags.state) {
    const socket = controlSocketPath(resolve(flags.state));
    if (!existsSync(socket))
      throw new UserError(`no agent is running with state folder ${flags.state} (no ${socket})`);
    return { socket, dir };
  }
  const server = flags.server ?? process.env.WARMSYNC_SERVER;
  const workspace = flags.workspace ?? process.env.WARMSYNC_WORKSPACE;
  if (server && workspace) {
    const socket = controlSocketPath(defaultStateDir(server, workspace, dir));
    if (existsSync(socket)) return { socket, dir };
  }
  const matches: string[] = [];
  for (const socket of candidateSockets()) {
    const answer = await ask(socket, { type: 'status' }, 2000).catch(() => undefined);
    if (answer?.type === 'status' && answer.status.dir === dir) matches.push(socket);
  }
  if (matches.length === 1) return { socket: matches[0]!, dir };
  if (matches.length === 0)
    throw new UserError(
      `no running agent found for ${dir} (looked in ${stateRoot()}); pass --state DIR if the agent was started with --state`,
    );
  throw new UserError(`several agents run on ${dir} (${matches.join(', ')}); pass --state DIR to pick one`);
}

/**
 * The status of the running agent whose folder holds `path` (the nearest, when agents run on
 * nested folders): its `--state` folder when given, else every agent under the default state
 * root. Undefined when none does.
 */
export async function agentHolding(
  path: string,
  flags: { state?: string },
): Promise<AgentStatus | undefined> {
  const sockets = flags.state ? [controlSocketPath(resolve(flags.state))] : candidateSockets();
  let best: AgentStatus | undefined;
  for (const socket of sockets) {
    if (!existsSync(socket)) continue;
    const answer = await ask(socket, { type: 'status' }, 2000).catch(() => undefined);
    if (answer?.type !== 'status') continue;
    const { dir } = answer.status;
    const inside = path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
    if (inside && (!best || dir.length > best.dir.length)) best = answer.status;
  }
  return best;
}

function candidateSockets(): string[] {
  const root = stateRoot();
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.map((name) => controlSocketPath(join(root, name))).filter((path) => existsSync(path));
}

function realFolder(path: string): string {
  try {
    if (statSync(path).isDirectory()) return realpathSync(path);
  } catch {
    // Reported below.
  }
  throw new UserError(`folder ${path} does not exist`, 2);
}

/** Sends one request and resolves to the agent's answer, checked against its schema. */
export function ask(socketPath: string, request: ControlRequest, timeoutMs: number): Promise<ControlAnswer> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UserError(`the agent did not answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const fail = (message: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new UserError(message));
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('error', (error) => fail(`cannot reach the agent at ${socketPath}: ${error.message}`));
    socket.on('data', (part: string) => {
      buffer += part;
      if (buffer.length > CONTROL_LINE_MAX * 16) fail('the agent answered too much');
    });
    socket.on('end', () => {
      clearTimeout(timer);
      let json: unknown;
      try {
        json = JSON.parse(buffer.split('\n')[0] ?? '');
      } catch {
        reject(new UserError('the agent answered something that is not JSON'));
        return;
      }
      const parsed = controlAnswerSchema.safeParse(json);
      if (parsed.success) resolvePromise(parsed.data);
      else reject(new UserError(`the agent's answer is malformed: ${describeZodError(parsed.error)}`));
    });
  });
}

/** An `error` answer becomes the command's one-line failure. */
export function expectAnswer<T extends ControlAnswer['type']>(
  answer: ControlAnswer,
  type: T,
): Extract<ControlAnswer, { type: T }> {
  if (answer.type === 'error') throw new UserError(`${answer.message} (${answer.code})`);
  if (answer.type !== type) throw new UserError(`the agent answered ${answer.type} instead of ${type}`);
  return answer as Extract<ControlAnswer, { type: T }>;
}

/** Human-readable status of one agent. */
export function renderAgentStatus(s: AgentStatus): string {
  const lines = [
    `agent ${s.agent} on ${s.dir} (workspace ${s.workspace} on ${s.server}): ${s.state}${s.mode ? `, ${s.mode}` : ''}`,
    `  cursor ${s.cursor}, head seen ${s.headSeen}, ${s.pendingRemote} remote change(s) pending, ${s.pendingLocal} local change(s) pending`,
  ];
  if (s.progress) lines.push(`  ${s.progress.line}`);
  if (s.merges) lines.push(`  ${s.merges} concurrent edit(s) merged three ways`);
  if (s.halted) lines.push(`  halted: ${s.halted}; warmsync resume ${s.dir} --allow-deletes lets them go`);
  if (s.paths.length === 0) lines.push('  every path in sync');
  for (const p of s.paths) lines.push(`  not in sync: ${p.path}: ${p.message} (${p.code})`);
  return lines.join('\n');
}
