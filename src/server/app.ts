/**
 * The hub's HTTP and WebSocket surface, built from its dependencies by `createServer`. Every
 * request body and message is validated here, at the edge, before any store sees it.
 */
import { type Context, Hono, type Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { websocket } from 'hono/bun';
import { compress } from 'hono/compress';
import type { z } from 'zod';
import { type Access, authorize, type Principal } from '../core/credential.ts';
import { type ChunkFrame, decodeEnvelope, encodeEnvelope, FrameError, makeFrame } from '../core/frames.ts';
import { DEFAULT_HISTORY_DAYS } from '../core/history.ts';
import {
  formatBytes,
  HUB_LIMITS,
  type HubLimits,
  MAX_BODY_BYTES,
  MAX_FETCH_WANT,
  MAX_MISSING_HASHES,
  MAX_PUSH_CHANGES,
} from '../core/limits.ts';
import {
  agentIdSchema,
  describeZodError,
  fetchRequestSchema,
  missingRequestSchema,
  type Status,
  safeParseUntrusted,
  wirePushHeaderSchema,
  workspaceNameSchema,
} from '../core/protocol.ts';
import { DEFAULT_COPIES_PER_PATH } from '../core/settle.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import { traceRequests } from '../traces/hono.ts';
import type { Traces } from '../traces/traces.ts';
import { Authenticator, WorkspaceChunks } from './access.ts';
import type { LiveBus } from './bus.ts';
import { JournalMover } from './chunk-journal.ts';
import { mountCredentialRoutes } from './credential-routes.ts';
import { type Dashboard, mountDashboard } from './dashboard/routes.ts';
import { FrameCache } from './frame-cache.ts';
import type { GcReport } from './gc.ts';
import { Hub } from './hub.ts';
import { mountLiveRoute } from './live.ts';
import { checkHost, checkOrigin } from './origin.ts';
import { handlePush, PushLimitError } from './push.ts';
import { PushGate } from './push-gate.ts';
import { mountSettleRoutes } from './settle-routes.ts';
import { mountSnapshotRoutes } from './snapshots.ts';
import { type ChunkStore, readStored, readWhole } from './store/chunks-fs.ts';
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
  /**
   * The admin credential: when set, every request but `/healthz` must carry
   * `Authorization: Bearer <token>`. Unset means no credential at all, which `listen` allows on a
   * loopback address only.
   */
  token?: string;
  /** Host names (besides IP literals and `localhost`) the hub answers to; see origin.ts. */
  allowedHosts?: readonly string[];
  /** Bounds on each request (default HUB_LIMITS); tests lower them. */
  limits?: Partial<HubLimits>;
  /** Allow paths under `.git/` (off by default). */
  allowGit?: boolean;
  /** Largest accepted request body (default MAX_BODY_BYTES; chunk uploads are split below it). */
  maxBodyBytes?: number;
  log?: (line: string) => void;
  /**
   * Start-up work the stores need before they serve (the chunk journal's replay, see
   * chunk-journal.ts): requests under /v1 wait for it. It must not reject.
   */
  ready?: Promise<void>;
  /** Cross-replica fan-out (scale-out); without it the hub serves its own agents only. */
  bus?: LiveBus;
  /** Head check interval for replicas sharing a durable store (see Hub); off in embedded mode. */
  headCheckMs?: number;
  /** Conflict copies kept per path (default DEFAULT_COPIES_PER_PATH); past it the oldest go to history. */
  copiesPerPath?: number;
  /** Days replaced and deleted versions stay in history (default DEFAULT_HISTORY_DAYS), as `history` reports. */
  historyDays?: number;
  /** Runs a chunk garbage collection (`POST /v1/gc`, admin); absent where chunks cannot be swept. */
  collectGarbage?: () => Promise<GcReport>;
  /** Probes the backing services for `/healthz` (default: the embedded store, always up). */
  health?: () => Promise<HealthReport>;
  /** Spans of pushes, commits, fan-outs and chunk fetches (`serve --otlp`); none without it. */
  traces?: Traces;
}

export interface SyncServer {
  app: Hono;
  hub: Hub;
  websocket: typeof websocket;
  /** The bounds in force, for the socket layer's own settings (see `listen`). */
  limits: Readonly<HubLimits>;
  /** False when the hub asks no credential: it must then listen on loopback only. */
  authenticated: boolean;
  /** The browser dashboard at `/`: its sessions and the one-time login codes `serve` prints. */
  dashboard: Dashboard;
  /** Moves the chunks of journaled commits into the chunk store now (see chunk-journal.ts). */
  moveJournaled(): Promise<void>;
}

const CHANGES_PAGE = 5000;

/**
 * Builds the hub. The caller owns listening (`Bun.serve({ fetch: app.fetch, websocket })`).
 *
 * @example
 * const server = createServer({ store, chunks, metrics });
 * Bun.serve({ port: 7420, fetch: server.app.fetch, websocket: server.websocket });
 */
export function createServer(deps: ServerDeps): SyncServer {
  const stateOf = async (workspace: string) => {
    const { head, epoch } = await deps.store.changesSince(workspace, Number.MAX_SAFE_INTEGER, 1);
    return { head, epoch };
  };
  const headOf = async (workspace: string) => (await stateOf(workspace)).head;
  const limits: HubLimits = { ...HUB_LIMITS, ...deps.limits };
  const hub = new Hub(deps.metrics, {
    bus: deps.bus,
    head: headOf,
    headCheckMs: deps.headCheckMs,
    liveBacklogBytes: limits.liveBacklogBytes,
    log: deps.log,
  });
  const app = new Hono();
  const ready = deps.ready;
  if (ready)
    app.use('/v1/*', async (_c, next) => {
      await ready;
      await next();
    });
  // A store that keeps the frames pushes bring serves them itself (see store/chunk-file.ts).
  const frameCache = deps.chunks.getStored ? undefined : new FrameCache();
  const journalMover = deps.store.chunkJournal
    ? new JournalMover(deps.store.chunkJournal, deps.chunks, deps.log)
    : undefined;
  const maxBody = deps.maxBodyBytes ?? MAX_BODY_BYTES;
  const pushGate = new PushGate(limits.pushesPerWorkspace);
  const credentialGate = new PushGate(limits.pushesPerCredential);
  const settleDeps = { store: deps.store, hub, copiesPerPath: deps.copiesPerPath ?? DEFAULT_COPIES_PER_PATH };
  const reject = (reason: string) => deps.metrics.rejectedRequests.inc({ reason });
  const authenticator = new Authenticator(deps.token, deps.store.access);
  /** The principal of each request that passed the guard. */
  const principals = new WeakMap<Request, Principal>();
  const principalOf = (c: Context): Principal => {
    const principal = principals.get(c.req.raw);
    if (!principal) throw new Error('bug: a route ran without the credential guard');
    return principal;
  };
  /** Undefined when the request's principal may do `access`, else the 403 to answer. */
  const permit = async (c: Context, access: Access): Promise<Response | undefined> => {
    const principal = principalOf(c);
    const verdict = authorize(principal, access);
    let message = verdict.ok ? undefined : verdict.message;
    if (verdict.ok && verdict.bindAgent && principal.kind === 'workspace') {
      const bound = await deps.store.access.bindCredentialAgent(principal.id, verdict.bindAgent);
      authenticator.forget(principal.id);
      if (bound !== verdict.bindAgent)
        message = `this credential belongs to agent ${bound}; make one credential per agent (warmsync token create)`;
    }
    if (message === undefined) return undefined;
    reject('forbidden');
    return c.json({ error: 'forbidden', message }, 403);
  };
  /** The chunks the request may see: all of them for the admin, its workspace's for the rest. */
  const chunksFor = (c: Context): ChunkStore | WorkspaceChunks => {
    const principal = principalOf(c);
    return principal.kind === 'admin'
      ? deps.chunks
      : new WorkspaceChunks(deps.chunks, deps.store.access, principal.workspace);
  };

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

  // Every refusal is `{error, message}` (hubErrorSchema), an unknown route or method too: Hono's
  // own 404 is plain text, which a client reading the refusal's reason cannot parse.
  app.notFound((c) => {
    reject('not-found');
    return c.json(
      { error: 'not-found', message: `no route for ${c.req.method} ${c.req.path.slice(0, 200)}` },
      404,
    );
  });

  app.get('/healthz', async (c) => {
    const report = deps.health ? await deps.health() : { ok: true, services: { store: 'up' as const } };
    return c.json(report, report.ok ? 200 : 503);
  });

  // Everything but /healthz (load balancers probe it under any name, and it tells nothing): the
  // browser checks first, so a foreign page learns nothing about the credential, then the credential.
  const guard = async (c: Context, next: Next) => {
    const host = c.req.header('host');
    const verdict = checkHost(host, deps.allowedHosts ?? []);
    const origin = verdict.ok ? checkOrigin(c.req.header('origin'), host) : verdict;
    if (!origin.ok) {
      reject('forbidden');
      return c.json({ error: 'forbidden', message: origin.message }, 403);
    }
    const principal = await authenticator.principal(c.req.header('authorization'));
    if (!principal) {
      reject('unauthorised');
      return c.json(
        { error: 'unauthorised', message: 'missing or wrong credential (send Authorization: Bearer TOKEN)' },
        401,
      );
    }
    principals.set(c.req.raw, principal);
    await next();
  };
  app.use('/metrics', guard);
  app.use('/v1/*', guard);
  // A workspace's routes: reading needs a credential that opens it, changing it a writable one.
  app.use('/v1/workspaces/:ws/*', async (c, next) => {
    const workspace = c.req.param('ws') ?? '';
    const denied = await permit(c, { type: c.req.method === 'GET' ? 'read' : 'write', workspace });
    if (denied) return denied;
    await next();
  });
  // The live socket speaks for one agent: the credential must belong to it (or bind to it now).
  app.use('/v1/workspaces/:ws/live', async (c, next) => {
    const agent = agentIdSchema.safeParse(c.req.query('agent'));
    if (agent.success) {
      const access = {
        type: 'agent' as const,
        workspace: c.req.param('ws') ?? '',
        agent: agent.data,
        write: false,
      };
      const denied = await permit(c, access);
      if (denied) return denied;
    }
    await next();
  });

  app.get('/metrics', async (c) => {
    const denied = await permit(c, { type: 'admin' });
    if (denied) return denied;
    return c.text(await deps.metrics.registry.metrics(), 200, {
      'content-type': deps.metrics.registry.contentType,
    });
  });
  mountCredentialRoutes(app, { access: deps.store.access, authenticator, permit, metrics: deps.metrics });
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: maxBody,
      onError: (c) => {
        reject('too-large');
        return c.json(
          {
            error: 'too-large',
            message: `request body is over ${formatBytes(maxBody)} (the body limit, --max-body)`,
          },
          413,
        );
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
    const result = safeParseUntrusted(schema, value);
    return result.success
      ? { ok: true, data: result.data }
      : { ok: false, message: describeZodError(result.error) };
  };
  const tooLarge = (c: Context, message: string) => {
    reject('too-large');
    return c.json({ error: 'too-large', message }, 413);
  };
  /** A list over its bound is "too large" (413), not malformed: the client should send less at once. */
  const overLimit = (value: unknown, key: string, max: number): string | undefined => {
    const list =
      typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    return Array.isArray(list) && list.length > max
      ? `${key} lists ${list.length} items; the limit per request is ${max}`
      : undefined;
  };
  const readJson = async (req: Request): Promise<unknown> => {
    try {
      return await req.json();
    } catch {
      return Symbol.for('invalid-json');
    }
  };

  app.get('/v1/status', async (c) => {
    const principal = principalOf(c);
    const summaries = (await deps.store.workspaces()).filter(
      (w) => principal.kind === 'admin' || w.name === principal.workspace,
    );
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
      // Hub-wide traffic is the admin's to see.
      bytesIn: principal.kind === 'admin' ? deps.metrics.bytesTotals.in : 0,
      bytesOut: principal.kind === 'admin' ? deps.metrics.bytesTotals.out : 0,
    };
    return c.json(status);
  });

  // Catch-up pages list thousands of entries; gzip shrinks them several times (clients that do
  // not ask for it get plain JSON).
  app.use('/v1/workspaces/:ws/changes', compress({ encoding: 'gzip', threshold: 4096 }));
  // A push's answer names every path with its new vector: the same text the push carried.
  app.use('/v1/workspaces/:ws/push', compress({ encoding: 'gzip', threshold: 1024 }));
  if (deps.traces) app.use('/v1/workspaces/:ws/push', traceRequests(deps.traces, 'push'));
  if (deps.traces) app.use('/v1/chunks/fetch', traceRequests(deps.traces, 'fetch'));
  app.get('/v1/workspaces/:ws/changes', async (c) => {
    const ws = parse(workspaceNameSchema, c.req.param('ws'));
    if (!ws.ok) return badRequest(c, `workspace: ${ws.message}`);
    const since = Number(c.req.query('since') ?? '0');
    if (!Number.isSafeInteger(since) || since < 0)
      return badRequest(c, 'since must be a non-negative integer');
    const page = await deps.store.changesSince(ws.data, since, CHANGES_PAGE);
    const { head, entries, floor } = page;
    let { epoch } = page;
    // An agent has read past the end: the store went back (restored from an older copy, or lost
    // its last commits), and the sequence numbers past the head will be given again to other
    // versions. Every agent must read the workspace again, so it gets a new epoch. The hub cannot
    // tell a true cursor from an invented one, so only a credential that may write the workspace
    // (and could change every path in it anyway) makes it renew; any other is answered as it is,
    // and its agent, seeing a head below its cursor, reads the workspace again on its own.
    const mayWrite = authorize(principalOf(c), { type: 'write', workspace: ws.data }).ok;
    if (since > head && epoch !== '' && mayWrite) {
      epoch = await deps.store.renewEpoch(ws.data);
      deps.log?.(
        `workspace ${ws.data}: an agent read up to ${since} but the head is ${head}; new epoch ${epoch}`,
      );
    }
    // floor: the newest expired tombstone; an agent reading from below it reads the whole manifest.
    const body = JSON.stringify({ head, epoch, entries, more: entries.length === CHANGES_PAGE, floor });
    deps.metrics.countBytes('out', body.length);
    return c.body(body, 200, { 'content-type': 'application/json' });
  });

  app.post('/v1/workspaces/:ws/push', async (c) => {
    const receivedAt = performance.now();
    const ws = parse(workspaceNameSchema, c.req.param('ws'));
    if (!ws.ok) return badRequest(c, `workspace: ${ws.message}`);
    const busy = (message: string) => {
      reject('busy');
      return c.json({ error: 'busy', message }, 429, { 'retry-after': '1' });
    };
    // Both slots are taken before the body is read: the body is what a push holds. The
    // credential's first, so a credential at its own limit takes none of its workspace's.
    const principal = principalOf(c);
    const releaseCredential = principal.kind === 'workspace' ? credentialGate.enter(principal.id) : () => {};
    if (!releaseCredential)
      return busy(
        `this credential already has ${limits.pushesPerCredential} pushes in progress (the limit per credential); retry shortly`,
      );
    const releaseWorkspace = pushGate.enter(ws.data);
    if (!releaseWorkspace) {
      releaseCredential();
      return busy(
        `workspace ${ws.data} already has ${limits.pushesPerWorkspace} pushes in progress (the limit per workspace); retry shortly`,
      );
    }
    const release = () => {
      releaseWorkspace();
      releaseCredential();
    };
    try {
      const body = new Uint8Array(await c.req.arrayBuffer());
      deps.metrics.countBytes('in', body.length);
      let header: unknown;
      let frames: ChunkFrame[];
      try {
        ({ header, frames } = decodeEnvelope(body, { maxFrames: limits.pushFrames }));
      } catch (error) {
        if (error instanceof FrameError && error.code === 'too-large') return tooLarge(c, error.message);
        if (error instanceof FrameError) return badRequest(c, error.message);
        throw error;
      }
      const over = overLimit(header, 'changes', MAX_PUSH_CHANGES);
      if (over) return tooLarge(c, over);
      const push = parse(wirePushHeaderSchema, header);
      if (!push.ok) return badRequest(c, push.message);
      const denied = await permit(c, {
        type: 'agent',
        workspace: ws.data,
        agent: push.data.agent,
        write: true,
      });
      if (denied) return denied;
      const response = await handlePush(
        {
          ...deps,
          chunks: chunksFor(c),
          hub,
          allowGit: deps.allowGit ?? false,
          inflatedBytes: limits.pushInflatedBytes,
          recordUploads: (hashes) => deps.store.access.referenceChunks(ws.data, hashes),
          settle: settleDeps,
          journalMover,
          frameCache,
        },
        ws.data,
        push.data,
        frames,
        receivedAt,
      );
      return c.json(response);
    } catch (error) {
      if (error instanceof PushLimitError) return tooLarge(c, error.message);
      throw error;
    } finally {
      release();
    }
  });

  app.post('/v1/chunks/missing', async (c) => {
    const json = await readJson(c.req.raw);
    const over = overLimit(json, 'hashes', MAX_MISSING_HASHES);
    if (over) return tooLarge(c, over);
    const request = parse(missingRequestSchema, json);
    if (!request.ok) return badRequest(c, request.message);
    const chunks = chunksFor(c);
    if (chunks instanceof WorkspaceChunks) await chunks.preload(request.data.hashes);
    const missing: string[] = [];
    const touch = (deps.chunks as Partial<{ touch(hash: string): void }>).touch?.bind(deps.chunks);
    for (const hash of request.data.hashes) {
      if (!(await chunks.has(hash))) missing.push(hash);
      // Present now, and named by a push soon: a collection running meanwhile must leave it.
      else touch?.(hash);
    }
    return c.json({ missing });
  });

  app.post('/v1/chunks/fetch', async (c) => {
    const json = await readJson(c.req.raw);
    const over = overLimit(json, 'want', MAX_FETCH_WANT);
    if (over) return tooLarge(c, over);
    const request = parse(fetchRequestSchema, json);
    if (!request.ok) return badRequest(c, request.message);
    const chunks = chunksFor(c);
    if (chunks instanceof WorkspaceChunks)
      await chunks.preload(request.data.want.flatMap((w) => (w.base ? [w.hash, w.base] : [w.hash])));
    const frames: ChunkFrame[] = [];
    const missing: string[] = [];
    // Both bounds stop the reply early; the agent asks again for the chunks left out.
    let size = 0;
    let raw = 0;
    for (const { hash, base } of request.data.want) {
      if (size >= limits.fetchReplyBytes || raw >= limits.fetchRawBytes) break;
      // Read through the workspace's store all the same: it checks access and the bytes. Asked for
      // a delta, the chunk is read whole; else the frame the store keeps or a push brought is sent
      // as it is, and the chunk is compressed only when it is kept raw.
      const baseBytes = base ? await chunks.get(base) : undefined;
      const stored = baseBytes ? await readWhole(chunks, hash) : await readStored(chunks, hash);
      if (!stored) {
        missing.push(hash);
        continue;
      }
      const frame: ChunkFrame = stored.zstd
        ? { hash, encoding: 'zstd', payload: stored.zstd }
        : ((baseBytes ? undefined : frameCache?.compressed(hash)) ??
          makeFrame(hash, stored.bytes, base && baseBytes ? { hash: base, bytes: baseBytes } : undefined));
      frames.push(frame);
      size += frame.payload.length;
      raw += stored.length + (baseBytes?.length ?? 0);
    }
    const reply = encodeEnvelope({ missing }, frames);
    deps.metrics.countBytes('out', reply.length);
    deps.traces?.active()?.set({
      'warmsync.chunks': frames.length,
      'warmsync.missing': missing.length,
      'warmsync.bytes': reply.length,
    });
    return c.body(reply, 200, { 'content-type': 'application/octet-stream' });
  });

  app.post('/v1/gc', async (c) => {
    const denied = await permit(c, { type: 'admin' });
    if (denied) return denied;
    if (!deps.collectGarbage)
      return c.json({ error: 'unsupported', message: 'this chunk store cannot be swept by the hub' }, 501);
    const report = await deps.collectGarbage();
    deps.metrics.chunksCollected.inc(report.removed);
    return c.json(report);
  });

  mountSnapshotRoutes(app, { ...deps, chunksFor });
  mountSettleRoutes(app, {
    ...settleDeps,
    metrics: deps.metrics,
    historyDays: deps.historyDays ?? DEFAULT_HISTORY_DAYS,
    principalOf,
  });
  mountLiveRoute(app, { hub, metrics: deps.metrics, stateOf, log: deps.log });
  const dashboard = mountDashboard(app, {
    ...deps,
    hub,
    authenticator,
    settle: settleDeps,
    allowedHosts: deps.allowedHosts ?? [],
    reject,
  });

  return {
    app,
    hub,
    websocket,
    limits,
    authenticated: deps.token !== undefined,
    dashboard,
    moveJournaled: async () => journalMover?.move(),
  };
}
