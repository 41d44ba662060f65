/**
 * A hub with agents, each a separate process started through the CLI, and a byte-counting proxy
 * between the agents and the hub. Used by the benches that measure whole processes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Child, startAgent, startServe } from './procs.ts';
import { type ByteProxy, startProxy } from './proxy.ts';

export interface Session {
  serve: Child & { url: string; port: number };
  proxy: ByteProxy;
  agents: Child[];
  /** Starts one more agent on `dir` (through the proxy); `name` keys its state and log files. */
  addAgent(dir: string, name: string, args?: string[], waitReady?: boolean): Promise<Child>;
  /** Resolves once no byte has crossed the proxy for `quietMs` (or after `maxMs`). */
  quiet(quietMs: number, maxMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startSession(scratch: string, workspace = 'bench'): Promise<Session> {
  mkdirSync(join(scratch, 'logs'), { recursive: true });
  const serve = await startServe(join(scratch, 'hub-data'), join(scratch, 'logs', 'serve.log'));
  const proxy = await startProxy(serve.port);
  const agents: Child[] = [];
  return {
    serve,
    proxy,
    agents,
    async addAgent(dir, name, args = [], waitReady = true) {
      const agent = await startAgent(
        {
          dir,
          server: proxy.url,
          workspace,
          stateDir: join(scratch, `state-${name}`),
          args,
          logFile: join(scratch, 'logs', `agent-${name}.log`),
        },
        waitReady,
      );
      agents.push(agent);
      return agent;
    },
    async quiet(quietMs, maxMs = 10_000) {
      const started = performance.now();
      while (proxy.quietForMs() < quietMs && performance.now() - started < maxMs) await Bun.sleep(10);
    },
    async stop() {
      await Promise.all(agents.map((a) => a.stop()));
      await serve.stop();
      await proxy.close();
    },
  };
}
