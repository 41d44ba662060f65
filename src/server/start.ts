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

export interface RunningServer {
  url: string;
  port: number;
  sync: SyncServer;
  store: SqliteStore;
  stop(): Promise<void>;
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
  return {
    url: `http://${host}:${server.port}`,
    port: server.port ?? 0,
    sync,
    store,
    async stop() {
      for (const agent of sync.hub.connected()) agent.socket.close(1001, 'server stopping');
      await server.stop(true);
      await store.close();
    },
  };
}
