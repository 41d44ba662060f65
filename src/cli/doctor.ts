/**
 * `warmsync doctor [DIR]`: checks what sync on DIR depends on (the project file, the folder, its
 * file system, the watch limit, the hub, TLS, the clock, the credential, the running agent) and
 * says what to do about each problem. `doctor --why PATH` explains one path.
 */

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { z } from 'zod';
import { probeFolding } from '../agent/fs-probe.ts';
import { excludesFilePath, repoExcludes, trackedPaths } from '../agent/git.ts';
import { certificateProblem, describeCertificateProblem, hubTls } from '../agent/hub-tls.ts';
import { needsPolling } from '../agent/mounts.ts';
import type { AgentStatus } from '../core/control-protocol.ts';
import {
  type Check,
  doctorExitCode,
  judgeCertificate,
  judgeClockSkew,
  judgeFolding,
  judgeWatchLimit,
  renderChecks,
} from '../core/doctor.ts';
import { IGNORE_FILE_NAMES, IgnoreRules } from '../core/ignore.ts';
import { ancestorPaths } from '../core/paths.ts';
import type { ProjectFile } from '../core/project-file.ts';
import { ModeMap, SYNC_MODES, type SyncMode } from '../core/sync-mode.ts';
import { parseFlags } from './args.ts';
import type { Command } from './command.ts';
import { ask, locateAgent } from './control-client.ts';
import { readProjectFile, resolveTarget } from './project.ts';
import { readCaOption } from './tls-files.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync doctor [DIR] [--server URL] [--workspace NAME] [--token T] [--ca FILE] [--json]
       warmsync doctor --why PATH [--mode MODE] [--role ROLE] [--state DIR]

Checks what syncing DIR (default: the current folder) depends on, each with what to do when it
is wrong: DIR/warmsync.toml, the folder itself, how its file system compares names, the watch
limit against the folders to watch, the hub (reachable, its TLS certificate, its clock), the
credential, and the agent running on DIR. Exits 1 when a check fails.

--why PATH explains one path (relative to the current folder): whether it exists, whether an
ignore rule applies and which one, its sync mode, and why the running agent has it out of sync.

Options:
  --server URL, --workspace NAME, --token TOKEN, --ca FILE   as for warmsync agent (and their
                 WARMSYNC_* variables; else DIR/warmsync.toml)
  --mode MODE, --role ROLE   the agent's mode and role, for --why (default: the project file's)
  --state DIR    the agent's state folder, when it was started with --state
  --json         the checks as JSON`;

/** Counting folders stops here: past it the verdict is the same. */
const FOLDER_COUNT_MAX = 2_000_000;
const HUB_TIMEOUT_MS = 5000;

export const doctorCommand: Command = {
  summary: 'check what sync depends on, or explain why a path is not in sync (--why)',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      {
        server: { type: 'string' },
        workspace: { type: 'string' },
        token: { type: 'string' },
        ca: { type: 'string' },
        state: { type: 'string' },
        mode: { type: 'string' },
        role: { type: 'string' },
        why: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length > 1) throw new UserError('expected at most one folder: warmsync doctor [DIR]', 2);
    const why = typeof values.why === 'string' ? values.why : undefined;
    const mode = z.enum(SYNC_MODES).optional().safeParse(values.mode);
    if (!mode.success)
      throw new UserError(`invalid option: --mode must be one of ${SYNC_MODES.join(', ')}`, 2);
    const flags = {
      server: str(values.server),
      workspace: str(values.workspace),
      token: str(values.token) ?? process.env.WARMSYNC_TOKEN,
      ca: str(values.ca),
      state: str(values.state),
      role: str(values.role) ?? (process.env.WARMSYNC_ROLE || undefined),
      mode: mode.data,
    };
    if (why !== undefined) return explainPath(why, positionals[0], flags);
    const checks = await runChecks(positionals[0] ?? '.', flags);
    console.log(values.json ? JSON.stringify({ checks }, null, 2) : renderChecks(checks));
    return doctorExitCode(checks);
  },
};

const str = (value: unknown) => (typeof value === 'string' ? value : undefined);

interface DoctorFlags {
  server?: string;
  workspace?: string;
  token?: string;
  ca?: string;
  state?: string;
  role?: string;
  mode?: SyncMode;
}

async function runChecks(dirArg: string, flags: DoctorFlags): Promise<Check[]> {
  const checks: Check[] = [];
  let dir: string;
  try {
    dir = realpathSync(dirArg);
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
  } catch {
    return [
      { name: 'folder', status: 'fail', detail: `${dirArg} is not a folder`, hint: 'give the synced folder' },
    ];
  }
  let settings: ProjectFile = {};
  try {
    const project = readProjectFile(dir);
    settings = project?.settings ?? {};
    checks.push({
      name: 'project file',
      status: 'ok',
      detail: project ? `${project.path} is valid` : 'none (settings come from flags and variables)',
    });
  } catch (error) {
    checks.push({
      name: 'project file',
      status: 'fail',
      detail: (error as Error).message,
      hint: 'fix the line named',
    });
  }
  checks.push(await folderCheck(dir));
  checks.push(judgeFolding(probeFolding(dir)));
  const polling = await needsPolling(dir);
  const folders = await countFolders(dir, settings);
  checks.push(judgeWatchLimit(folders, await inotifyLimit(), polling.poll));
  if (polling.poll)
    checks.push({
      name: 'events',
      status: 'ok',
      detail: `${dir} is on ${polling.type ?? 'a network file system'}, which sends no change events: the agent polls`,
    });
  const target = resolveTarget(flags, settings);
  if (!target.server) {
    checks.push({
      name: 'hub',
      status: 'fail',
      detail: 'no hub named',
      hint: 'pass --server URL (or WARMSYNC_SERVER, or server in warmsync.toml)',
    });
    return checks;
  }
  checks.push(...(await hubChecks(target.server, target.workspace, flags)));
  checks.push(await agentCheck(dir, flags));
  return checks;
}

async function folderCheck(dir: string): Promise<Check> {
  try {
    await readdir(dir);
  } catch (error) {
    return { name: 'folder', status: 'fail', detail: `${dir} cannot be listed: ${(error as Error).message}` };
  }
  const probe = join(dir, `.warmsync-doctor-${process.pid}`);
  try {
    await Bun.write(probe, '');
    await Bun.file(probe).delete();
    return { name: 'folder', status: 'ok', detail: `${dir} can be read and written` };
  } catch (error) {
    return {
      name: 'folder',
      status: 'warn',
      detail: `${dir} cannot be written (${(error as Error).message}): remote changes cannot be applied`,
      hint: 'give the agent a folder it can write, or use --mode send-only',
    };
  }
}

/** Folders the watcher would watch: all but .git and node_modules unless the project syncs them. */
async function countFolders(dir: string, settings: ProjectFile): Promise<number> {
  const skip = new Set<string>();
  if (!settings.sync_git) skip.add('.git');
  if (!settings.sync_node_modules) skip.add('node_modules');
  let count = 0;
  const queue = [dir];
  while (queue.length > 0 && count < FOLDER_COUNT_MAX) {
    const folder = queue.pop()!;
    count++;
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries)
      if (entry.isDirectory() && !skip.has(entry.name)) queue.push(join(folder, entry.name));
  }
  return count;
}

async function inotifyLimit(): Promise<number | undefined> {
  if (process.platform !== 'linux') return undefined;
  const text = await readFile('/proc/sys/fs/inotify/max_user_watches', 'utf8').catch(() => undefined);
  const limit = Number(text?.trim());
  return Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
}

async function hubChecks(
  server: string,
  workspace: string | undefined,
  flags: DoctorFlags,
): Promise<Check[]> {
  const checks: Check[] = [];
  const url = server.split(',')[0]!.trim().replace(/^ws/, 'http');
  let ca: string[] | undefined;
  try {
    ca = readCaOption(flags.ca);
  } catch (error) {
    return [{ name: 'tls', status: 'fail', detail: (error as Error).message }];
  }
  const started = performance.now();
  let health: Response;
  try {
    health = await fetch(`${url}/healthz`, { tls: hubTls(ca), signal: AbortSignal.timeout(HUB_TIMEOUT_MS) });
  } catch (error) {
    const problem = certificateProblem(error);
    if (problem)
      return [
        {
          name: 'tls',
          status: 'fail',
          detail: describeCertificateProblem(url, problem),
          hint: 'pass --ca FILE for a private CA',
        },
      ];
    return [
      {
        name: 'hub',
        status: 'fail',
        detail: `cannot reach ${url}: ${(error as Error).message}`,
        hint: 'is warmsync serve running there, and the port open?',
      },
    ];
  }
  const roundTrip = performance.now() - started;
  const received = Date.now();
  checks.push({
    name: 'hub',
    status: health.ok ? 'ok' : 'fail',
    detail: `${url} answered /healthz ${health.status} in ${Math.round(roundTrip)} ms`,
    ...(health.ok ? {} : { hint: 'a service of the hub is down: see its log' }),
  });
  if (url.startsWith('https://')) checks.push(await certificateCheck(url, ca));
  const date = health.headers.get('date');
  if (date) checks.push(judgeClockSkew(received - roundTrip / 2 - Date.parse(date), roundTrip));
  checks.push(await credentialCheck(url, workspace, flags.token, ca));
  return checks;
}

function certificateCheck(url: string, ca: string[] | undefined): Promise<Check> {
  const { hostname, port } = new URL(url);
  return new Promise((resolvePromise) => {
    const socket = tlsConnect(
      {
        host: hostname,
        port: Number(port || 443),
        // SNI carries names only; an address is sent without it.
        ...(isIP(hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: hostname }),
        ca: ca ? [...ca] : undefined,
        // Verification is the fetch's job above; this connection only reads the validity dates.
        rejectUnauthorized: false,
      },
      () => {
        const certificate = socket.getPeerCertificate();
        socket.end();
        resolvePromise(
          certificate?.valid_to
            ? judgeCertificate(new Date(certificate.valid_to), new Date())
            : { name: 'tls', status: 'warn', detail: 'the hub showed no certificate' },
        );
      },
    );
    socket.on('error', (error) => resolvePromise({ name: 'tls', status: 'fail', detail: error.message }));
    socket.setTimeout(HUB_TIMEOUT_MS, () => socket.destroy(new Error('no TLS answer in time')));
  });
}

async function credentialCheck(
  url: string,
  workspace: string | undefined,
  token: string | undefined,
  ca: string[] | undefined,
): Promise<Check> {
  const name = 'credential';
  if (!workspace)
    return {
      name,
      status: 'fail',
      detail: 'no workspace named',
      hint: 'pass --workspace NAME (or WARMSYNC_WORKSPACE, or workspace in warmsync.toml)',
    };
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  // since=0 reads the first page; a cursor past the head would be taken for a rollback.
  const reply = await fetch(`${url}/v1/workspaces/${encodeURIComponent(workspace)}/changes?since=0`, {
    headers,
    tls: hubTls(ca),
    signal: AbortSignal.timeout(HUB_TIMEOUT_MS),
  }).catch((error: Error) => error);
  if (reply instanceof Error)
    return { name, status: 'fail', detail: `the hub did not answer: ${reply.message}` };
  await reply.body?.cancel().catch(() => {});
  if (reply.ok)
    return {
      name,
      status: 'ok',
      detail: `${token ? 'the credential' : 'no credential needed:'} can read workspace ${workspace}`,
    };
  if (reply.status === 401)
    return {
      name,
      status: 'fail',
      detail: token ? 'the hub refused the credential (401)' : 'the hub needs a credential (401)',
      hint: 'pass --token (or WARMSYNC_TOKEN); warmsync token create --workspace W makes one',
    };
  if (reply.status === 403)
    return {
      name,
      status: 'fail',
      detail: `the credential is not for workspace ${workspace} (403)`,
      hint: 'use a credential of this workspace',
    };
  return {
    name,
    status: 'fail',
    detail: `the hub answered ${reply.status} to a read of workspace ${workspace}`,
  };
}

async function agentCheck(dir: string, flags: DoctorFlags): Promise<Check> {
  const status = await agentStatus(dir, flags);
  if (!status)
    return {
      name: 'agent',
      status: 'warn',
      detail: `no agent is running on ${dir}`,
      hint: `warmsync agent ${dir}`,
    };
  const outOfSync = status.paths.length;
  return {
    name: 'agent',
    status: status.state === 'running' ? 'ok' : 'warn',
    detail: `agent ${status.agent} is ${status.state}, cursor ${status.cursor} of ${status.headSeen}, ${outOfSync} path(s) not in sync`,
    ...(status.state === 'halted'
      ? {
          hint: `warmsync status ${dir} shows why; warmsync resume ${dir} --allow-deletes lets the deletions go`,
        }
      : status.state === 'paused'
        ? { hint: `warmsync resume ${dir}` }
        : outOfSync > 0
          ? { hint: `warmsync status ${dir} lists them with why` }
          : {}),
  };
}

async function agentStatus(dir: string, flags: DoctorFlags): Promise<AgentStatus | undefined> {
  try {
    const located = await locateAgent(dir, flags);
    const answer = await ask(located.socket, { type: 'status' }, 10_000);
    return answer.type === 'status' ? answer.status : undefined;
  } catch {
    return undefined;
  }
}

/** `doctor --why PATH`: one line per fact about the path. */
async function explainPath(given: string, dirArg: string | undefined, flags: DoctorFlags): Promise<number> {
  const absolute = resolve(given);
  const located = dirArg ? realpathSync(dirArg) : await folderAbove(absolute, flags);
  const path = relative(located, absolute).split('\\').join('/');
  if (path.startsWith('..') || isAbsolute(path) || path === '')
    throw new UserError(`${given} is not a path inside the synced folder ${located}`, 2);
  const project = readProjectFile(located);
  const settings = project?.settings ?? {};
  const lines: string[] = [`${path} (in ${located})`];
  const onDisk = await stat(absolute).catch(() => undefined);
  const isDir = onDisk?.isDirectory() ?? false;
  lines.push(`  on disk: ${onDisk ? (isDir ? 'a folder' : `a file of ${onDisk.size} bytes`) : 'not here'}`);
  const rules = await ignoreRulesFor(located, path, settings);
  const verdict = rules.explain(path, isDir);
  lines.push(`  ignored: ${verdict.ignored ? 'yes' : 'no'}: ${verdict.reason}`);
  const modes = new ModeMap(flags.mode ?? settings.mode ?? 'two-way', settings.paths ?? [], flags.role);
  const mode = modes.modeOf(path, isDir);
  lines.push(
    `  mode: ${mode}${mode === modes.agentMode ? '' : ` (a [[paths]] rule of warmsync.toml${flags.role ? ` for role ${flags.role}` : ''})`}`,
  );
  const status = await agentStatus(located, flags);
  if (!status) lines.push('  agent: none running on this folder, so nothing syncs it now');
  else {
    const problems = status.paths.filter((p) => p.path === path || p.path.startsWith(`${path}/`));
    if (problems.length === 0)
      lines.push(`  agent ${status.agent} (${status.state}): in sync as far as it knows`);
    for (const p of problems.slice(0, 20))
      lines.push(`  agent ${status.agent}: ${p.path}: ${p.message} (${p.code})`);
  }
  console.log(lines.join('\n'));
  return 0;
}

/** The nearest folder at or above `path` that has an agent running on it, else that has a project file. */
async function folderAbove(path: string, flags: DoctorFlags): Promise<string> {
  let start = path;
  while (
    !(await stat(start)
      .then((s) => s.isDirectory())
      .catch(() => false))
  )
    start = resolve(start, '..');
  const real = realpathSync(start);
  for (let dir = real; ; dir = resolve(dir, '..')) {
    // With --state the agent is known whatever folder is asked: its own folder is the answer.
    const status = await agentStatus(dir, flags);
    if (status && (real === status.dir || real.startsWith(`${status.dir}/`))) return status.dir;
    if (readProjectFile(dir)) return dir;
    if (resolve(dir, '..') === dir) return realpathSync('.');
  }
}

/** The ignore rules that bear on `path`: the files of the root and of each folder above it, git's. */
async function ignoreRulesFor(root: string, path: string, settings: ProjectFile): Promise<IgnoreRules> {
  const byFolder = new Map<string, string>();
  for (const folder of ['', ...ancestorPaths(path)]) {
    let text = '';
    for (const name of IGNORE_FILE_NAMES) text += `${readText(join(root, folder, name))}\n`;
    if (text.trim()) byFolder.set(folder, text);
  }
  const tracked = await trackedPaths(root).catch(() => new Set<string>());
  const excludes = await repoExcludes(root, await excludesFilePath(root).catch(() => '')).catch(() => []);
  return new IgnoreRules(
    byFolder,
    tracked,
    {
      ignoreGitDir: !settings.sync_git,
      ignoreNodeModules: !settings.sync_node_modules,
      extraPatterns: settings.ignore,
    },
    excludes,
  );
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
