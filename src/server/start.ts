/**
 * Starts a hub on the embedded storage under one data folder and listens. Shared by
 * `warmsync serve`, `warmsync demo` and the tests, so all three run the same wiring.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HubLimits } from '../core/limits.ts';
import { createServerMetrics } from '../metrics/server-metrics.ts';
import type { Traces } from '../traces/traces.ts';
import { createServer, type SyncServer } from './app.ts';
import { replayJournal } from './chunk-journal.ts';
import { collectGarbage } from './gc.ts';
import { isLoopbackHost } from './origin.ts';
import { FolderChunkStore } from './store/chunks-fs.ts';
import { SqliteStore } from './store/sqlite.ts';
import type { Store } from './store/store.ts';

export interface EmbeddedServerOptions {
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * The admin credential. Without one the hub asks for none, which is only allowed on a loopback
   * host (tests, `warmsync demo`, `serve --no-auth`); `warmsync serve` always brings one otherwise.
   */
  token?: string;
  /** Host names the hub answers to besides IP literals and `localhost` (`serve --allow-host`). */
  allowedHosts?: readonly string[];
  allowGit?: boolean;
  maxBodyBytes?: number;
  /** Serve HTTPS and WSS with this certificate (PEM); plain HTTP without it. */
  tls?: HubTls;
  limits?: Partial<HubLimits>;
  /**
   * Leaves out flushes that make answered pushes survive a power loss: SQLite at
   * synchronous=NORMAL, chunks not flushed. Only the benches use it, to price the flushes; serve,
   * demo and the tests run durable.
   */
  unflushed?: { sqlite?: boolean; chunks?: boolean };
  /** How often unused chunks are collected (default every 6 hours; 0 turns it off). */
  gcIntervalMs?: number;
  /** Days replaced and deleted versions stay recoverable (`serve --history-days`; default 7). */
  historyDays?: number;
  /** Conflict copies kept per path (default 10). */
  copiesPerPath?: number;
  log?: (line: string) => void;
  /** Spans of pushes, commits, fan-outs and fetches (`serve --otlp`). */
  traces?: Traces;
}

const GC_INTERVAL_MS = 6 * 3600_000;

/** The hub's certificate chain and private key, PEM, as `serve --tls-cert --tls-key` read them. */
export interface HubTls {
  cert: string;
  key: string;
}

/** Thrown by `listen` for a hub with no credential on an address other machines can reach. */
export class OpenHubError extends Error {
  readonly code = 'open-hub';
  constructor(host: string) {
    super(
      `refusing to listen on ${host} without a credential: give --token (or WARMSYNC_TOKEN), or listen on 127.0.0.1`,
    );
    this.name = 'OpenHubError';
  }
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
  tls?: HubTls;
}

export function startEmbeddedServer(options: EmbeddedServerOptions): RunningServer {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new SqliteStore(join(options.dataDir, 'warmsync.db'), {
    synchronous: options.unflushed?.sqlite ? 'NORMAL' : 'FULL',
  });
  const chunks = new FolderChunkStore(join(options.dataDir, 'chunks'), { fsync: !options.unflushed?.chunks });
  // Chunks that commits carried and a stop kept from reaching the folder go there before anything is served.
  const ready = replayJournal(store.chunkJournal, chunks).then(
    (moved) => {
      if (moved > 0) options.log?.(`moved ${moved} journaled chunk(s) into the chunk store`);
    },
    (error: unknown) =>
      options.log?.(`moving journaled chunks into the chunk store failed: ${(error as Error).message}`),
  );
  let hubCount = () => 0;
  const metrics = createServerMetrics({
    chunkStoreBytes: () => chunks.sizeBytes(),
    connectedAgents: () => hubCount(),
  });
  const sync = createServer({
    store,
    chunks,
    metrics,
    ready,
    token: options.token,
    allowedHosts: options.allowedHosts,
    allowGit: options.allowGit,
    maxBodyBytes: options.maxBodyBytes,
    limits: options.limits,
    log: options.log,
    historyDays: options.historyDays,
    copiesPerPath: options.copiesPerPath,
    collectGarbage: () => collect(),
    traces: options.traces,
  });
  hubCount = () => sync.hub.count();
  const collect = () =>
    collectGarbage(store, chunks, { historyDays: options.historyDays, activeCursors: activeCursors(sync) });
  const gcEvery = options.gcIntervalMs ?? GC_INTERVAL_MS;
  const gcTimer =
    gcEvery > 0
      ? setInterval(() => {
          collect()
            .then((r) => {
              metrics.chunksCollected.inc(r.removed);
              if (r.removed > 0)
                options.log?.(`collected ${r.removed} unused chunk(s), ${r.bytesFreed} bytes`);
            })
            .catch((error) => options.log?.(`chunk collection failed: ${(error as Error).message}`));
        }, gcEvery)
      : undefined;
  gcTimer?.unref?.();
  let listening: ReturnType<typeof listen>;
  try {
    listening = listen(sync, options);
  } catch (error) {
    store.close().catch(() => {});
    throw error;
  }
  const { server, url } = listening;
  return {
    url,
    port: server.port ?? 0,
    sync,
    store,
    async stop() {
      if (gcTimer) clearInterval(gcTimer);
      await stopListening(sync, server);
      await store.close();
    },
  };
}

/**
 * Listens for the app and its WebSockets; shared by the embedded and the scale-out wiring.
 * Throws OpenHubError, before binding, for a hub without a credential on a non-loopback host:
 * TLS keeps strangers from reading the traffic, not from sending requests, so it replaces no
 * credential.
 */
export function listen(
  sync: SyncServer,
  options: ListenOptions,
): { server: Bun.Server<unknown>; url: string } {
  const host = options.host ?? '127.0.0.1';
  if (!sync.authenticated && !isLoopbackHost(host)) throw new OpenHubError(host);
  const server = Bun.serve({
    hostname: host,
    port: options.port ?? 7420,
    fetch: sync.app.fetch,
    websocket: {
      ...sync.websocket,
      // Bun closes the socket (1009) on a larger message from an agent.
      maxPayloadLength: sync.limits.liveMessageBytes,
      // Bun would silently drop messages past its own limit; the hub closes a socket with a
      // reason once it is past liveBacklogBytes, so leave room for one largest notification on top.
      backpressureLimit: sync.limits.liveBacklogBytes + 32 * 1024 * 1024,
      idleTimeout: 120,
    },
    // The app's body limit (--max-body) refuses every larger body with a 413 that names it: from
    // its declared length, before reading, or as a chunked body is read. Bun's own limit answered
    // a declared length past it with an empty 413 before the app saw the request, so it is left
    // out of the way; Bun holds no body the app does not read (1,000 MB declared: RSS unchanged).
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // The same port then speaks only HTTPS and WSS; Bun serves no plain HTTP beside it.
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
  });
  const shown = server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname;
  return { server, url: `${options.tls ? 'https' : 'http'}://${shown}:${server.port}` };
}

/** The cursors of a workspace's agents connected to this hub (what tombstone expiry spares). */
export function activeCursors(sync: SyncServer): (workspace: string) => number[] {
  return (workspace) =>
    sync.hub
      .connected()
      .filter((a) => a.workspace === workspace)
      .map((a) => a.cursor);
}

/** Closes every live socket (agents reconnect elsewhere or later) and stops listening. */
export async function stopListening(sync: SyncServer, server: Bun.Server<unknown>): Promise<void> {
  sync.hub.close();
  for (const agent of sync.hub.connected()) agent.socket.close(1001, 'server stopping');
  await server.stop(true);
  // No push runs now: the chunks of the last journaled commits go into the folder before the store closes.
  await sync.moveJournaled();
}
