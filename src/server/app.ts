/**
 * The hub's HTTP and WebSocket surface, built from its dependencies by `createServer`. Every
 * request body and message is validated here, at the edge, before any store sees it.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { upgradeWebSocket, websocket } from 'hono/bun';
import { compress } from 'hono/compress';
import type { z } from 'zod';
import { type ChunkFrame, decodeEnvelope, encodeEnvelope, FrameError, makeFrame } from '../core/frames.ts';
import {
  agentIdSchema,
  agentMessageSchema,
  describeZodError,
  fetchRequestSchema,
  missingRequestSchema,
  pushHeaderSchema,
  type Status,
  workspaceNameSchema,
} from '../core/protocol.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import type { LiveBus } from './bus.ts';
import { Hub, type LiveAgent } from './hub.ts';
import { handlePush } from './push.ts';
import { mountSnapshotRoutes } from './snapshots.ts';
import type { ChunkStore } from './store/chunks-fs.ts';
import type { Store } from './store/store.ts';
import { type ServiceState, ServiceUnavailableError } from './store/unavailable.ts';

/** What `/healthz` answers: the state of each backing service; not ok when the durable store is down. */
export interface HealthReport {
  ok: boolean;
  services: Record<string, ServiceState>;
}

export interface ServerDeps {
  store: Store;
  chunks: ChunkStore;
  metrics: ServerMetrics;
  /** When set, every /v1 request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Allow paths under `.git/` (off by default). */
  allowGit?: boolean;
  /** Largest accepted request body (default 64 MiB; chunk uploads are split below it). */
  maxBodyBytes?: number;
  log?: (line: string) => void;
  /** Cross-replica fan-out (scale-out); without it the hub serves its own agents only. */
  bus?: LiveBus;
  /** Head check interval for replicas sharing a durable store (see Hub); off in embedded mode. */
  headCheckMs?: number;
  /** Probes the backing services for `/healthz` (default: the embedded store, always up). */
  health?: () => Promise<HealthReport>;
}

export interface SyncServer {
  app: Hono;
  hub: Hub;
  websocket: typeof websocket;
}

const CHANGES_PAGE = 5000;
const FETCH_REPLY_BYTES = 16 * 1024 * 1024;

/**
 * Builds the hub. The caller owns listening (`Bun.serve({ fetch: app.fetch, websocket })`).
 *
 * @example
 * const server = createServer({ store, chunks, metrics });
 * Bun.serve({ port: 7420, fetch: server.app.fetch, websocket: server.websocket });
 */
export function createServer(deps: ServerDeps): SyncServer {
  const headOf = async (workspace: string) =>
    (await deps.store.changesSince(workspace, Number.MAX_SAFE_INTEGER, 1)).head;
  const hub = new Hub(deps.metrics, { bus: deps.bus, head: headOf, headCheckMs: deps.headCheckMs });
  const app = new Hono();
  const maxBody = deps.maxBodyBytes ?? 64 * 1024 * 1024;
  const reject = (reason: string) => deps.metrics.rejectedRequests.inc({ reason });

  app.onError((error, c) => {
    if (error instanceof ServiceUnavailableError) {
      reject('unavailable');
      return c.json({ error: 'unavailable', message: error.message }, 503, { 'retry-after': '1' });
    }
    deps.log?.(
      `error: ${c.req.method} ${c.req.path}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return c.json({ error: 'internal', message: 'the server failed to handle this request' }, 500);
  });

  app.get('/healthz', async (c) => {
    const report = deps.health ? await deps.health() : { ok: true, services: { store: 'up' as const } };
    return c.json(report, report.ok ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }),
  );

  app.use('/v1/*', async (c, next) => {
    if (
      deps.token &&
      c.req.header('authorization') !== `Bearer ${deps.token}` &&
      c.req.query('token') !== deps.token
    ) {
      reject('unauthorised');
      return c.json({ error: 'unauthorised', message: 'missing or wrong token' }, 401);
    }
    await next();
  });
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: maxBody,
      onError: (c) => {
        reject('too-large');
        return c.json({ error: 'too-large', message: `request body is over ${maxBody} bytes` }, 413);
      },
    }),
  );

  const badRequest = (c: { json: (body: unknown, status: 400) => Response }, message: string) => {
    reject('malformed');
    return c.json({ error: 'bad-request', message }, 400);
  };
  const parse = <T extends z.ZodType>(
    schema: T,
    value: unknown,
  ): { ok: true; data: z.infer<T> } | { ok: false; message: string } => {
    const result = schema.safeParse(value);
    return result.success
      ? { ok: true, data: result.data }
      : { ok: false, message: describeZodError(result.error) };
  };
  const readJson = async (req: Request): Promise<unknown> => {
    try {
      return await req.json();
    } catch {
      return Symbol.for('invalid-json');
    }
  };

  app.get('/v1/status', async (c) => {
    const summaries = await deps.store.workspaces();
    const live = hub.connected();
    const status: Status = {
      workspaces: summaries.map((w) => ({
        ...w,
        agents: live
          .filter((a) => a.workspace === w.name)
          .map((a) => ({
            id: a.agentId,
            cursor: a.cursor,
            behind: Math.max(0, w.head - a.cursor),
            pending: a.pending,
            connectedForSeconds: Math.round((Date.now() - a.connectedAt) / 1000),
            problems: a.problems,
          })),
      })),
      bytesIn: deps.metrics.bytesTotals.in,
      bytesOut: deps.metrics.bytesTotals.out,
    };
    return c.json(status);
  });

  // Catch-up pages list thousands of entries; gzip shrinks them several times (clients that do
  // not ask for it get plain JSON).
  app.use('/v1/workspaces/:ws/changes', compress({ encoding: 'gzip', threshold: 4096 }));
  // A push's answer names every path with its new vector: the same text the push carried.
  app.use('/v1/workspaces/:ws/push', compress({ encoding: 'gzip', threshold: 1024 }));
  app.get('/v1/workspaces/:ws/changes', async (c) => {
    const ws = parse(workspaceNameSchema, c.req.param('ws'));
    if (!ws.ok) return badRequest(c, `workspace: ${ws.message}`);
    const since = Number(c.req.query('since') ?? '0');
    if (!Number.isSafeInteger(since) || since < 0)
      return badRequest(c, 'since must be a non-negative integer');
    const { head, entries } = await deps.store.changesSince(ws.data, since, CHANGES_PAGE);
    const body = JSON.stringify({ head, entries, more: entries.length === CHANGES_PAGE });
    deps.metrics.countBytes('out', body.length);
    return c.body(body, 200, { 'content-type': 'application/json' });
  });

  app.post('/v1/workspaces/:ws/push', async (c) => {
    const receivedAt = performance.now();
    const ws = parse(workspaceNameSchema, c.req.param('ws'));
    if (!ws.ok) return badRequest(c, `workspace: ${ws.message}`);
    const body = new Uint8Array(await c.req.arrayBuffer());
    deps.metrics.countBytes('in', body.length);
    let header: unknown;
    let frames: ChunkFrame[];
    try {
      ({ header, frames } = decodeEnvelope(body));
    } catch (error) {
      if (error instanceof FrameError) return badRequest(c, error.message);
      throw error;
    }
    const push = parse(pushHeaderSchema, header);
    if (!push.ok) return badRequest(c, push.message);
    const response = await handlePush(
      { ...deps, hub, allowGit: deps.allowGit ?? false },
      ws.data,
      push.data,
      frames,
      receivedAt,
    );
    return c.json(response);
  });

  app.post('/v1/chunks/missing', async (c) => {
    const request = parse(missingRequestSchema, await readJson(c.req.raw));
    if (!request.ok) return badRequest(c, request.message);
    const missing: string[] = [];
    for (const hash of request.data.hashes) if (!(await deps.chunks.has(hash))) missing.push(hash);
    return c.json({ missing });
  });

  app.post('/v1/chunks/fetch', async (c) => {
    const request = parse(fetchRequestSchema, await readJson(c.req.raw));
    if (!request.ok) return badRequest(c, request.message);
    const frames: ChunkFrame[] = [];
    const missing: string[] = [];
    let size = 0;
    for (const { hash, base } of request.data.want) {
      if (size >= FETCH_REPLY_BYTES) break;
      const bytes = await deps.chunks.get(hash);
      if (!bytes) {
        missing.push(hash);
        continue;
      }
      const baseBytes = base ? await deps.chunks.get(base) : undefined;
      const frame = makeFrame(hash, bytes, base && baseBytes ? { hash: base, bytes: baseBytes } : undefined);
      frames.push(frame);
      size += frame.payload.length;
    }
    const reply = encodeEnvelope({ missing }, frames);
    deps.metrics.countBytes('out', reply.length);
    return c.body(reply, 200, { 'content-type': 'application/octet-stream' });
  });

  mountSnapshotRoutes(app, deps);

  app.get(
    '/v1/workspaces/:ws/live',
    async (c, next) => {
      if (!workspaceNameSchema.safeParse(c.req.param('ws')).success)
        return badRequest(c, 'invalid workspace name');
      if (!agentIdSchema.safeParse(c.req.query('agent')).success)
        return badRequest(c, 'agent query parameter is missing or invalid');
      await next();
    },
    upgradeWebSocket((c) => {
      const workspace = c.req.param('ws') ?? '';
      const agentId = c.req.query('agent') ?? '';
      let agent: LiveAgent | undefined;
      return {
        async onOpen(_event, socket) {
          const live = {
            send: (d: string | Uint8Array<ArrayBuffer>) => socket.send(d),
            close: (code?: number, r?: string) => socket.close(code, r),
          };
          agent = hub.connect(workspace, agentId, live);
          let head: number;
          try {
            head = await headOf(workspace);
          } catch (error) {
            // The durable store is away: the agent retries with its usual back-off.
            deps.log?.(`agent ${agentId} turned away: ${(error as Error).message}`);
            socket.close(1013, 'the hub cannot reach its store; try again later');
            return;
          }
          socket.send(JSON.stringify({ type: 'hello', head }));
          hub.noteHead(workspace, head);
          deps.log?.(`agent ${agentId} connected to workspace ${workspace}`);
        },
        onMessage(event, socket) {
          if (!agent) return;
          let value: unknown;
          try {
            value = JSON.parse(
              typeof event.data === 'string'
                ? event.data
                : new TextDecoder().decode(event.data as ArrayBuffer),
            );
          } catch {
            value = undefined;
          }
          const message = agentMessageSchema.safeParse(value);
          if (!message.success) {
            reject('malformed');
            socket.send(
              JSON.stringify({
                type: 'error',
                message: `malformed message: ${describeZodError(message.error)}`,
              }),
            );
            return;
          }
          switch (message.data.type) {
            case 'cursor':
              hub.updateCursor(agent, message.data.cursor, message.data.pending);
              break;
            case 'problems':
              agent.problems = message.data.problems;
              break;
            case 'wanted':
              hub.relayWanted(agent, message.data.hashes);
              break;
          }
        },
        onClose() {
          if (agent) {
            hub.disconnect(agent);
            deps.log?.(`agent ${agentId} disconnected from workspace ${workspace}`);
          }
        },
      };
    }),
  );

  return { app, hub, websocket };
}
