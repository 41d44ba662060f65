/**
 * Running the real `warmsync` command line as child processes, for tests that kill processes,
 * restart them, or limit their open files.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Subprocess } from 'bun';

const MAIN = join(import.meta.dir, '..', '..', 'src', 'cli', 'main.ts');
const running: Subprocess[] = [];

export interface CliProcess {
  process: Subprocess;
  output(): string;
  /** Resolves once the process has exited and all of its output has been read. */
  finished(): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `warmsync ARGS` (optionally under `ulimit -n`, as another user, or with more
 * environment variables), collecting stdout and stderr.
 */
export function startCli(
  args: string[],
  options: {
    openFiles?: number;
    user?: string;
    env?: Record<string, string | undefined>;
    /** The folder the command runs in (default: this process's). */
    cwd?: string;
  } = {},
): CliProcess {
  const base = options.openFiles
    ? ['sh', '-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, MAIN, ...args]
    : [process.execPath, MAIN, ...args];
  // setpriv execs the command itself (runuser would stay as its parent), so the pid killed here is
  // the process under test and a SIGKILL ends it rather than orphaning it.
  const command = options.user
    ? ['setpriv', `--reuid=${options.user}`, `--regid=${options.user}`, '--init-groups', ...base]
    : base;
  const child = Bun.spawn(command, {
    stdout: 'pipe',
    stderr: 'pipe',
    env: options.env ? { ...process.env, ...options.env } : undefined,
    cwd: options.cwd,
  });
  running.push(child);
  let text = '';
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const part of stream) text += decoder.decode(part);
  };
  const pumped = Promise.all([
    pump(child.stdout as ReadableStream<Uint8Array>),
    pump(child.stderr as ReadableStream<Uint8Array>),
  ]).catch(() => {});
  return {
    process: child,
    output: () => text,
    finished: async () => {
      await child.exited;
      await pumped;
      return text;
    },
    async kill(signal = 'SIGTERM') {
      child.kill(signal);
      await child.exited;
    },
  };
}

export async function stopAllCli(): Promise<void> {
  for (const child of running.splice(0)) {
    child.kill('SIGKILL');
    await child.exited;
  }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Waits for GET /healthz to answer 200; `tls` carries the CA for an https:// hub. */
export async function waitHealthy(
  url: string,
  timeoutMs = 15_000,
  tls?: BunFetchRequestInitTLS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`, { tls })).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`hub at ${url} did not become healthy`);
}
