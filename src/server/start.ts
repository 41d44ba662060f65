/**
 * Starts a hub on the embedded storage under one data folder and listens. Shared by
 * `warmsync serve`, `warmsync demo` and the tests, so all three run the same wiring.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServerMetrics } from '../metrics/server-metrics.ts';
import { createServer, type SyncServer } from './app.ts';
import { FolderChunkStore } from './store/chunks-fs.ts';
import { SqliteStore } from './store/sqlite.ts';
import type { Store } from './store/store.ts';

export interface EmbeddedServerOptions {
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
  allowGit?: boolean;
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface RunningServer<S extends Store = SqliteStore> {
  url: string;
  port: number;
  sync: SyncServer;
  store: S;
  stop(): Promise<void>;
}

export interface ListenOptions {
  host?: string;
  port?: number;
  maxBodyBytes?: number;
}

export function startEmbeddedServer(options: EmbeddedServerOptions): RunningServer {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new SqliteStore(join(options.dataDir, 'warmsync.db'));
  const chunks = new FolderChunkStore(join(options.dataDir, 'chunks'));
  let hubCount = () => 0;
  const metrics = createServerMetrics({
    chunkStoreBytes: () => chunks.sizeBytes(),
    connectedAgents: () => hubCount(),
  });
  const sync = createServer({
    store,
    chunks,
    metrics,
    token: options.token,
    allowGit: options.allowGit,
    maxBodyBytes: options.maxBodyBytes,
    log: options.log,
  });
  hubCount = () => sync.hub.count();
  const { server, url } = listen(sync, options);
  return {
    url,
    port: server.port ?? 0,
    sync,
    store,
    async stop() {
      await stopListening(sync, server);
      await store.close();
    },
  };
}

/** Listens for the app and its WebSockets; shared by the embedded and the scale-out wiring. */
export function listen(
  sync: SyncServer,
  options: ListenOptions,
): { server: Bun.Server<unknown>; url: string } {
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const server = Bun.serve({
    hostname: options.host ?? '127.0.0.1',
    port: options.port ?? 7420,
    fetch: sync.app.fetch,
    websocket: { ...sync.websocket, maxPayloadLength: 16 * 1024 * 1024, idleTimeout: 120 },
    // Leave headroom over the body limit so the app, not the socket layer, answers 413 with a reason.
    maxRequestBodySize: maxBody + 1024 * 1024,
  });
  const host = server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname;
  return { server, url: `http://${host}:${server.port}` };
}

/** Closes every live socket (agents reconnect elsewhere or later) and stops listening. */
export async function stopListening(sync: SyncServer, server: Bun.Server<unknown>): Promise<void> {
  sync.hub.close();
  for (const agent of sync.hub.connected()) agent.socket.close(1001, 'server stopping');
  await server.stop(true);
}
