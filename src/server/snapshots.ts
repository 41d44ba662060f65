/**
 * Dependency snapshots at the hub: `PUT` stores the manifest of an installed `node_modules` for
 * one (workspace, lockfile SHA-256), `GET` returns it. The content travels as ordinary chunks
 * (`/v1/chunks/missing`, then push envelopes with no changes), so snapshots dedupe with each
 * other and with synced files; the manifest is accepted only once every chunk it names is stored,
 * which means a stored manifest can always be restored.
 *
 * Mounted by `createServer` under `/v1`, so the token and body-size rules of the rest of the hub
 * (401, 413) apply before these handlers run.
 */
import type { Context, Hono } from 'hono';
import { describeZodError, safeParseUntrusted, workspaceNameSchema } from '../core/protocol.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import { snapshotChunks, snapshotManifestSchema } from '../prewarm/snapshot-manifest.ts';
import type { ChunkStore } from './store/chunks-fs.ts';
import type { Store } from './store/store.ts';

export interface SnapshotRouteDeps {
  store: Store;
  /** The chunks the request's credential may see (its workspace's, for a workspace credential). */
  chunksFor: (c: Context) => ChunkStore;
  metrics: ServerMetrics;
}

/** Missing chunks listed in a refusal, at most; enough for a client to see what went wrong. */
const MISSING_LISTED = 100;

/**
 * Adds the snapshot routes to `app`.
 *
 * @example
 * mountSnapshotRoutes(app, { store, chunks, metrics });
 * // PUT /v1/workspaces/web/snapshots/<sha256 of package-lock.json>  body: SnapshotManifest
 * // GET /v1/workspaces/web/snapshots/<sha256 of package-lock.json>  -> SnapshotManifest | 404
 */
export function mountSnapshotRoutes(app: Hono, deps: SnapshotRouteDeps): void {
  const badRequest = (message: string, extra: Record<string, unknown> = {}) => {
    deps.metrics.rejectedRequests.inc({ reason: 'malformed' });
    return Response.json({ error: 'bad-request', message, ...extra }, { status: 400 });
  };
  const keyOf = (ws: string | undefined, lockHash: string | undefined) => {
    const workspace = workspaceNameSchema.safeParse(ws);
    if (!workspace.success) return { error: `workspace: ${describeZodError(workspace.error)}` };
    if (!lockHash || !/^[0-9a-f]{64}$/.test(lockHash))
      return { error: 'the lockfile hash must be a hex SHA-256' };
    return { workspace: workspace.data, lockHash };
  };

  app.put('/v1/workspaces/:ws/snapshots/:lockHash', async (c) => {
    const key = keyOf(c.req.param('ws'), c.req.param('lockHash'));
    if ('error' in key) return badRequest(key.error ?? 'bad key');
    const text = await c.req.text();
    deps.metrics.countBytes('in', text.length);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return badRequest('the snapshot manifest is not JSON');
    }
    const manifest = safeParseUntrusted(snapshotManifestSchema, json);
    if (!manifest.success) return badRequest(describeZodError(manifest.error));
    if (manifest.data.lockHash !== key.lockHash)
      return badRequest('the manifest names another lockfile than the URL');
    // Invariant kept for GET: a stored manifest names only chunks the hub holds.
    const missing: string[] = [];
    const chunks = deps.chunksFor(c);
    await (chunks as Partial<{ preload(h: string[]): Promise<void> }>).preload?.(
      snapshotChunks(manifest.data),
    );
    for (const hash of snapshotChunks(manifest.data)) {
      if (!(await chunks.has(hash))) missing.push(hash);
      if (missing.length >= MISSING_LISTED) break;
    }
    if (missing.length > 0)
      return badRequest('upload the chunks before the manifest', { code: 'missing-chunks', missing });
    await deps.store.putSnapshot(key.workspace, key.lockHash, JSON.stringify(manifest.data));
    deps.metrics.snapshotUploads.inc();
    return c.json({ stored: true, packages: manifest.data.packages.length });
  });

  app.get('/v1/workspaces/:ws/snapshots/:lockHash', async (c) => {
    const key = keyOf(c.req.param('ws'), c.req.param('lockHash'));
    if ('error' in key) return badRequest(key.error ?? 'bad key');
    const stored = await deps.store.snapshot(key.workspace, key.lockHash);
    if (!stored)
      return c.json({ error: 'not-found', message: 'no snapshot for this lockfile in this workspace' }, 404);
    deps.metrics.snapshotDownloads.inc();
    deps.metrics.countBytes('out', stored.manifest.length);
    return c.body(stored.manifest, 200, { 'content-type': 'application/json' });
  });
}
