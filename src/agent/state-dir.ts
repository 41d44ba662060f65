/**
 * Where an agent keeps its state when `--state` is not given. The agent and the commands that
 * talk to a running agent (`flush`, `pause`, `resume`, `status DIR`) find it with these functions.
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_SOCKET_NAME } from '../core/control-protocol.ts';

/** The folder under which every default state folder lives: `$XDG_STATE_HOME/warmsync`. */
export function stateRoot(): string {
  const home = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(home, 'warmsync');
}

/**
 * The default state folder: one per (hub, workspace, folder), under the XDG state home.
 * `dir` is the folder's real path.
 */
export function defaultStateDir(server: string, workspace: string, dir: string): string {
  const key = createHash('sha256').update(`${server}\0${workspace}\0${dir}`).digest('hex').slice(0, 16);
  return join(stateRoot(), `${workspace}-${key}`);
}

/** The running agent's control socket in its state folder. */
export function controlSocketPath(stateDir: string): string {
  return join(stateDir, CONTROL_SOCKET_NAME);
}
