/**
 * Child processes under measurement: `warmsync serve` and `warmsync agent` started through the
 * CLI exactly as a user would, plus readings of their CPU time and memory from /proc.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Subprocess } from 'bun';

export const REPO_ROOT = resolve(import.meta.dir, '../../..');
export const BUN = process.execPath;
const CLI = resolve(REPO_ROOT, 'src/cli/main.ts');

export interface Child {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  pid: number;
  /** Every line the process printed so far (stdout and stderr). */
  lines: string[];
  /** Resolves with the first printed line that matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Children still running, ended when the bench process exits (also on Ctrl-C). */
const running = new Set<Subprocess>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const proc of running) proc.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
}

/** Starts a process, collects its output into memory (and a log file when given). */
export function spawnChild(cmd: string[], logFile?: string, env?: Record<string, string>): Child {
  const proc = Bun.spawn(cmd, {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, ...env },
  });
  installCleanup();
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; done: (line: string) => void }> = [];
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let rest = '';
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        log?.write(`${line}\n`);
        for (const w of [...waiters]) {
          if (!w.pattern.test(line)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.done(line);
        }
      }
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return {
    proc,
    pid: proc.pid,
    lines,
    waitFor(pattern, timeoutMs = 120_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((done, fail) => {
        const timer = setTimeout(() => {
          fail(new Error(`${cmd.slice(0, 4).join(' ')}: no line matching ${pattern} after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push({
          pattern,
          done: (line) => {
            clearTimeout(timer);
            done(line);
          },
        });
        proc.exited.then((code) =>
          fail(
            new Error(`${cmd.slice(0, 4).join(' ')} exited with ${code}:\n${lines.slice(-20).join('\n')}`),
          ),
        );
      });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await proc.exited;
      clearTimeout(timer);
      log?.end();
    },
  };
}

/** Where a run's hubs get their admin credential; unset, they run with `--no-auth`. */
export const HUB_TOKEN_ENV = 'WARMSYNC_BENCH_HUB_TOKEN';

/** The admin credential of the hubs the benches start now, if they ask one (see HUB_TOKEN_ENV). */
export function benchHubToken(): string | undefined {
  return process.env[HUB_TOKEN_ENV] || undefined;
}

/**
 * A new read-write credential for one agent of `workspace`, made with the admin credential, as
 * `warmsync token create` makes one: an agent then runs every check a deployed hub makes of it.
 */
async function workspaceCredential(server: string, workspace: string, admin: string): Promise<string> {
  const response = await fetch(`${server}/v1/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workspace, label: 'bench' }),
  });
  if (response.status !== 201)
    throw new Error(`making a credential for ${workspace}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** `warmsync serve` on a free loopback port; resolves once it listens. */
export async function startServe(
  dataDir: string,
  logFile?: string,
  extraArgs: string[] = [],
): Promise<Child & { url: string; port: number }> {
  const token = benchHubToken();
  const auth = token === undefined ? ['--no-auth'] : ['--token', token];
  const child = spawnChild(
    [BUN, CLI, 'serve', '--data', dataDir, '--port', '0', ...auth, ...extraArgs],
    logFile,
  );
  const line = await child.waitFor(/listening on http:\/\//);
  const url = /listening on (http:\/\/[^\s]+)/.exec(line)![1]!;
  return { ...child, url, port: Number(new URL(url).port) };
}

export interface AgentSpec {
  dir: string;
  server: string;
  workspace: string;
  stateDir: string;
  args?: string[];
  logFile?: string;
}

/** `warmsync agent DIR` as a continuous agent; resolves once its first full reconcile is done. */
export async function startAgent(spec: AgentSpec, waitReady = true): Promise<Child> {
  const admin = benchHubToken();
  const token =
    admin === undefined ? [] : ['--token', await workspaceCredential(spec.server, spec.workspace, admin)];
  const child = spawnChild(
    [
      BUN,
      CLI,
      'agent',
      spec.dir,
      '--server',
      spec.server,
      '--workspace',
      spec.workspace,
      '--state',
      spec.stateDir,
      // Pre-warming runs npm in the background and reaches the registry; the benches measure sync.
      '--no-prewarm',
      // Extra agent flags for a whole run, e.g. WARMSYNC_BENCH_AGENT_ARGS=--no-fsync to price durability.
      ...(process.env.WARMSYNC_BENCH_AGENT_ARGS?.split(' ').filter(Boolean) ?? []),
      ...token,
      ...(spec.args ?? []),
    ],
    spec.logFile,
  );
  if (waitReady) await child.waitFor(/\[agent\] watching /, 600_000);
  return child;
}

export interface ProcReading {
  /** CPU seconds (user + system) used so far. */
  cpuSeconds: number;
  rssBytes: number;
  /** Peak resident set size. */
  hwmBytes: number;
}

const TICKS_PER_SECOND = 100;

/** CPU time and memory of one process, from /proc/<pid>/stat and /proc/<pid>/status. */
export function readProc(pid: number): ProcReading {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

/** Runs a command to completion; throws with its output when the exit code is not accepted. */
export async function run(
  cmd: string[],
  options: { cwd?: string; okCodes?: number[]; stdout?: 'pipe' | 'ignore' } = {},
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const proc = Bun.spawn(cmd, {
    cwd: options.cwd,
    stdin: 'ignore',
    stdout: options.stdout ?? 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([
    proc.stdout ? new Response(proc.stdout).bytes() : Promise.resolve(new Uint8Array()),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (!(options.okCodes ?? [0]).includes(code))
    throw new Error(`${cmd.join(' ')} exited with ${code}: ${stderr.slice(0, 2000)}`);
  return { code, stdout, stderr };
}
