/**
 * Finding and reading the project file (`warmsync.toml`), and the hub and workspace a command
 * talks to: a flag, else its `WARMSYNC_*` variable, else the project file of the folder.
 *
 * Because the project file syncs, a peer could edit its `server` to send this machine's files and
 * credential elsewhere on the next start. Each folder therefore remembers the hub and workspace it
 * last synced with (outside the folder, under the state root), and a project file that names
 * others is refused until a flag or variable confirms them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { stateRoot } from '../agent/state-dir.ts';
import {
  PROJECT_FILE_NAME,
  type ProjectFile,
  ProjectFileError,
  parseProjectFile,
} from '../core/project-file.ts';
import { UserError } from './user-error.ts';

/** Project files are small; a larger one is a mistake, not configuration. */
const PROJECT_FILE_MAX_BYTES = 1024 * 1024;

export interface LoadedProject {
  path: string;
  settings: ProjectFile;
}

/** The project file at the root of `dir`, or undefined when it has none. */
export function readProjectFile(dir: string): LoadedProject | undefined {
  const path = join(dir, PROJECT_FILE_NAME);
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > PROJECT_FILE_MAX_BYTES)
      throw new UserError(`${path}: larger than ${PROJECT_FILE_MAX_BYTES} bytes; is it the right file?`, 2);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`, 2);
  }
  try {
    return { path, settings: parseProjectFile(text, path) };
  } catch (error) {
    if (error instanceof ProjectFileError) throw new UserError(error.message, 2);
    throw error;
  }
}

/** The nearest project file at `start` or a folder above it, with the folder that holds it. */
export function findProjectFile(start: string): (LoadedProject & { root: string }) | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const found = readProjectFile(dir);
    if (found) return { ...found, root: dir };
    if (dirname(dir) === dir) return undefined;
  }
}

export interface Target {
  server?: string;
  workspace?: string;
  /** Where each came from, for messages and for the binding check. */
  serverFrom?: 'flag' | 'env' | 'project';
  workspaceFrom?: 'flag' | 'env' | 'project';
}

/** The hub and workspace: flag, else variable, else project file. */
export function resolveTarget(
  flags: { server?: string; workspace?: string },
  project: ProjectFile | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Target {
  const pick = (flag: string | undefined, variable: string | undefined, file: string | undefined) =>
    flag !== undefined
      ? { value: flag, from: 'flag' as const }
      : variable
        ? { value: variable, from: 'env' as const }
        : file !== undefined
          ? { value: file, from: 'project' as const }
          : undefined;
  const server = pick(flags.server, env.WARMSYNC_SERVER, project?.server);
  const workspace = pick(flags.workspace, env.WARMSYNC_WORKSPACE, project?.workspace);
  return {
    server: server?.value,
    serverFrom: server?.from,
    workspace: workspace?.value,
    workspaceFrom: workspace?.from,
  };
}

const bindingSchema = z.object({ server: z.string(), workspace: z.string() });

function bindingPath(dir: string): string {
  const key = createHash('sha256').update(dir).digest('hex').slice(0, 24);
  return join(stateRoot(), 'folders', `${key}.json`);
}

/**
 * Refuses a hub or workspace that only the project file names when the folder last synced with
 * another; otherwise records the pair as the folder's binding. `dir` is the folder's real path.
 */
export function checkBinding(
  dir: string,
  target: Required<Pick<Target, 'server' | 'workspace'>> & Target,
  warn: (line: string) => void = (line) => console.error(`warmsync: ${line}`),
): void {
  const path = bindingPath(dir);
  let previous: z.infer<typeof bindingSchema> | undefined;
  try {
    previous = bindingSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    previous = undefined;
  }
  const moved = previous && (previous.server !== target.server || previous.workspace !== target.workspace);
  // Only a change that the file alone makes is suspect; a flag or variable is the user speaking.
  const movedByFile =
    previous &&
    ((previous.server !== target.server && target.serverFrom === 'project') ||
      (previous.workspace !== target.workspace && target.workspaceFrom === 'project'));
  if (movedByFile)
    throw new UserError(
      `${PROJECT_FILE_NAME} now names workspace ${target.workspace} on ${target.server}, but ${dir} last synced with ${previous!.workspace} on ${previous!.server}. ` +
        'The file syncs, so a peer may have changed it; if you changed it, confirm once with ' +
        `--server ${target.server} --workspace ${target.workspace}`,
      2,
    );
  if (previous && !moved) return;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ server: target.server, workspace: target.workspace, dir }), {
      mode: 0o600,
    });
    renameSync(temp, path);
  } catch (error) {
    // A user without a writable state home (a service account) still syncs; only this check is lost.
    warn(
      `cannot record which hub ${dir} syncs with (${(error as Error).message}); a changed ${PROJECT_FILE_NAME} will not be questioned`,
    );
  }
}
