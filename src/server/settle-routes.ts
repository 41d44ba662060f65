/**
 * The conflict and history routes of a workspace: `GET conflicts` and `GET history?path=` read
 * (any credential that opens the workspace), `POST resolve` and `POST restore` change it (a
 * writable one); the workspace middleware in app.ts has checked that before these run.
 */
import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { Principal } from '../core/credential.ts';
import type { PathVersion } from '../core/history.ts';
import {
  describeZodError,
  relativePathSchema,
  safeParseUntrusted,
  workspaceNameSchema,
} from '../core/protocol.ts';
import {
  type HistoryResponse,
  resolveRequestSchema,
  restoreRequestSchema,
  type VersionSummary,
} from '../core/settle-protocol.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import { resolveConflicts, restoreVersion, type SettleDeps, SettleError } from './settle.ts';

export interface SettleRouteDeps extends SettleDeps {
  metrics: ServerMetrics;
  historyDays: number;
  principalOf: (c: Context) => Principal;
}

/** Who a hub-side change is recorded as in the audit log. */
export function actorOf(principal: Principal): string {
  if (principal.kind === 'admin') return 'admin';
  return principal.agent ?? `credential:${principal.id}`;
}

export function mountSettleRoutes(app: Hono, deps: SettleRouteDeps): void {
  const badRequest = (c: Context, message: string) => {
    deps.metrics.rejectedRequests.inc({ reason: 'malformed' });
    return c.json({ error: 'bad-request', message }, 400);
  };
  const parse = <T extends z.ZodType>(schema: T, value: unknown) => safeParseUntrusted(schema, value);
  const workspaceOf = (c: Context) => parse(workspaceNameSchema, c.req.param('ws'));
  const refused = (c: Context, error: unknown) => {
    if (!(error instanceof SettleError)) throw error;
    const status = error.code === 'busy' ? 409 : error.code === 'blocked' ? 409 : 404;
    return c.json({ error: error.code, message: error.message }, status);
  };

  app.get('/v1/workspaces/:ws/conflicts', async (c) => {
    const ws = workspaceOf(c);
    if (!ws.success) return badRequest(c, `workspace: ${describeZodError(ws.error)}`);
    return c.json({ conflicts: await deps.store.conflicts(ws.data) });
  });

  app.post('/v1/workspaces/:ws/resolve', async (c) => {
    const ws = workspaceOf(c);
    if (!ws.success) return badRequest(c, `workspace: ${describeZodError(ws.error)}`);
    const body = parse(resolveRequestSchema, await c.req.json().catch(() => undefined));
    if (!body.success) return badRequest(c, describeZodError(body.error));
    try {
      const { head, results } = await resolveConflicts(
        deps,
        ws.data,
        body.data,
        actorOf(deps.principalOf(c)),
      );
      return c.json({ head, results });
    } catch (error) {
      return refused(c, error);
    }
  });

  app.get('/v1/workspaces/:ws/history', async (c) => {
    const ws = workspaceOf(c);
    if (!ws.success) return badRequest(c, `workspace: ${describeZodError(ws.error)}`);
    const path = parse(relativePathSchema, c.req.query('path'));
    if (!path.success) return badRequest(c, `path: ${describeZodError(path.error)}`);
    const versions = await deps.store.history(ws.data, path.data);
    const body: HistoryResponse = {
      path: path.data,
      retentionDays: deps.historyDays,
      versions: versions.map(summarise),
    };
    return c.json(body);
  });

  app.post('/v1/workspaces/:ws/restore', async (c) => {
    const ws = workspaceOf(c);
    if (!ws.success) return badRequest(c, `workspace: ${describeZodError(ws.error)}`);
    const body = parse(restoreRequestSchema, await c.req.json().catch(() => undefined));
    if (!body.success) return badRequest(c, describeZodError(body.error));
    const { path, version, before } = body.data;
    if (version !== undefined && before !== undefined)
      return badRequest(c, 'give a version or a time to restore from, not both');
    const choice =
      version !== undefined ? { version } : before !== undefined ? { before } : ({ latest: true } as const);
    try {
      const outcome = await restoreVersion(deps, ws.data, path, choice, actorOf(deps.principalOf(c)));
      return c.json({ path, ...outcome });
    } catch (error) {
      return refused(c, error);
    }
  });
}

function summarise(v: PathVersion): VersionSummary {
  const summary: VersionSummary = {
    version: v.seq,
    kind: v.content.kind,
    agent: v.agent,
    at: v.at,
    current: v.replacedSeq === undefined,
  };
  if (v.content.kind === 'file') {
    summary.size = v.content.size;
    summary.hash = v.content.hash;
  }
  if (v.content.kind === 'symlink') summary.target = v.content.target;
  if (v.replacedAt !== undefined) summary.replacedAt = v.replacedAt;
  if (v.replacedSeq !== undefined) summary.replacedBy = v.replacedSeq;
  return summary;
}
