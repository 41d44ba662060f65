/**
 * A hub with agents, each a separate process started through the CLI. Every agent talks to the
 * hub through its own byte-counting proxy, so the bytes on the wire can be told apart by agent
 * and direction (upload leg, download leg) as well as summed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Child, startAgent, startServe } from './procs.ts';
import { type ByteProxy, startProxy } from './proxy.ts';

export interface Session {
  serve: Child & { url: string; port: number };
  agents: Child[];
  /** Starts one more agent on `dir`; `name` keys its state, log file and byte counts. */
  addAgent(dir: string, name: string, args?: string[], waitReady?: boolean): Promise<Child>;
  /** Bytes on the wire so far, all agents, both directions. */
  total(): number;
  /** Bytes so far by agent name: `up` is agent to hub, `down` hub to agent. */
  traffic(): Map<string, { up: number; down: number }>;
  /** Resolves once no byte has crossed any proxy for `quietMs` (or after `maxMs`). */
  quiet(quietMs: number, maxMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startSession(scratch: string, workspace = 'bench'): Promise<Session> {
  mkdirSync(join(scratch, 'logs'), { recursive: true });
  const serve = await startServe(join(scratch, 'hub-data'), join(scratch, 'logs', 'serve.log'));
  const agents: Child[] = [];
  const proxies = new Map<string, ByteProxy>();
  return {
    serve,
    agents,
    async addAgent(dir, name, args = [], waitReady = true) {
      const proxy = await startProxy(serve.port);
      proxies.set(name, proxy);
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
    total() {
      let n = 0;
      for (const p of proxies.values()) n += p.total();
      return n;
    },
    traffic() {
      return new Map([...proxies].map(([name, p]) => [name, { ...p.counts }]));
    },
    async quiet(quietMs, maxMs = 10_000) {
      const started = performance.now();
      const quietFor = () => Math.min(...[...proxies.values()].map((p) => p.quietForMs()));
      while (quietFor() < quietMs && performance.now() - started < maxMs) await Bun.sleep(10);
    },
    async stop() {
      await Promise.all(agents.map((a) => a.stop()));
      await serve.stop();
      await Promise.all([...proxies.values()].map((p) => p.close()));
    },
  };
}
