/**
 * What the dashboard shows, gathered for one principal: the workspaces it may read, their
 * connected agents, open conflicts and recent audit rows, the hub's edit-to-peer histogram, and
 * (for the admin only, as `/v1/status` does) hub-wide traffic. The same JSON is rendered into the
 * first page and pushed over the event stream.
 */
import { authorize, type Principal } from '../../core/credential.ts';
import type { Problem } from '../../core/protocol.ts';
import type { ConflictRecord } from '../../core/settle.ts';
import type { ServerMetrics } from '../../metrics/server-metrics.ts';
import type { Hub } from '../hub.ts';
import type { ChunkStore } from '../store/chunks-fs.ts';
import type { AuditEvent, Store } from '../store/store.ts';

export interface DashboardWorkspace {
  name: string;
  head: number;
  files: number;
  bytes: number;
  conflicts: number;
  /** Whether this principal may resolve its conflicts (a writable credential). */
  canResolve: boolean;
}

export interface DashboardAgent {
  workspace: string;
  id: string;
  cursor: number;
  behind: number;
  pending: number;
  connectedForSeconds: number;
  problems: Problem[];
  /** The hub's time of this agent's newest audit row among those shown (its last change), if any. */
  lastChange?: string;
}

/** One bucket of the edit-to-peer histogram: peers that applied a push within `le` seconds (not cumulative). */
export interface LatencyBucket {
  le: number;
  count: number;
}

export interface DashboardData {
  at: string;
  who: string;
  workspaces: DashboardWorkspace[];
  agents: DashboardAgent[];
  /** Agents seen in the recent audit rows but not connected now. */
  offline: Array<{ workspace: string; id: string; lastChange: string }>;
  latency: { buckets: LatencyBucket[]; count: number; sumSeconds: number };
  /** Hub-wide figures, for the admin only. */
  traffic?: { bytesIn: number; bytesOut: number; fileBytes: number; chunkStoreBytes: number };
  conflicts: Array<ConflictRecord & { workspace: string }>;
  audit: AuditEvent[];
}

export interface SnapshotDeps {
  store: Store;
  hub: Hub;
  metrics: ServerMetrics;
  chunks: ChunkStore;
}

const AUDIT_ROWS = 20;

/** Who the page says is logged in. */
export function describePrincipal(principal: Principal): string {
  if (principal.kind === 'admin') return 'admin';
  return `workspace ${principal.workspace} (${principal.readOnly ? 'read-only' : 'read-write'} credential ${principal.id})`;
}

export async function dashboardData(deps: SnapshotDeps, principal: Principal): Promise<DashboardData> {
  const readable = (name: string) => authorize(principal, { type: 'read', workspace: name }).ok;
  const summaries = (await deps.store.workspaces()).filter((w) => readable(w.name));
  const workspaces = summaries.map((w) => ({
    ...w,
    canResolve: authorize(principal, { type: 'write', workspace: w.name }).ok,
  }));
  const scope = principal.kind === 'admin' ? undefined : principal.workspace;
  const audit = await deps.store.recentAudit(scope, AUDIT_ROWS);
  const lastChange = new Map<string, string>();
  // Newest first, so the first row of an agent is its last change.
  for (const row of audit) {
    const key = `${row.workspace}\u0000${row.agent}`;
    if (!lastChange.has(key)) lastChange.set(key, row.at);
  }
  const heads = new Map(workspaces.map((w) => [w.name, w.head]));
  const live = deps.hub.connected().filter((a) => heads.has(a.workspace));
  const agents: DashboardAgent[] = live.map((a) => {
    const agent: DashboardAgent = {
      workspace: a.workspace,
      id: a.agentId,
      cursor: a.cursor,
      behind: Math.max(0, (heads.get(a.workspace) ?? 0) - a.cursor),
      pending: a.pending,
      connectedForSeconds: Math.round((Date.now() - a.connectedAt) / 1000),
      problems: a.problems.slice(0, 5),
    };
    const last = lastChange.get(`${a.workspace}\u0000${a.agentId}`);
    if (last) agent.lastChange = last;
    return agent;
  });
  const connected = new Set(live.map((a) => `${a.workspace}\u0000${a.agentId}`));
  const offline = [...lastChange]
    .filter(
      ([key]) => !connected.has(key) && !key.endsWith('\u0000admin') && !key.includes('\u0000credential:'),
    )
    .map(([key, at]) => {
      const [workspace = '', id = ''] = key.split('\u0000');
      return { workspace, id, lastChange: at };
    });
  const conflicts = (
    await Promise.all(
      workspaces
        .filter((w) => w.conflicts > 0)
        .map(async (w) => (await deps.store.conflicts(w.name)).map((c) => ({ ...c, workspace: w.name }))),
    )
  ).flat();
  const data: DashboardData = {
    at: new Date().toISOString(),
    who: describePrincipal(principal),
    workspaces,
    agents,
    offline,
    latency: await latency(deps.metrics, scope),
    conflicts,
    audit,
  };
  if (principal.kind === 'admin')
    data.traffic = {
      bytesIn: deps.metrics.bytesTotals.in,
      bytesOut: deps.metrics.bytesTotals.out,
      fileBytes: summaries.reduce((sum, w) => sum + w.bytes, 0),
      chunkStoreBytes: deps.chunks.sizeBytes(),
    };
  return data;
}

/**
 * The `workspace_sync_duration_seconds` histogram, summed over workspaces (or of one), as counts
 * per bucket rather than Prometheus' cumulative ones; the `+Inf` bucket becomes `le: Infinity`.
 */
export async function latency(
  metrics: ServerMetrics,
  workspace: string | undefined,
): Promise<DashboardData['latency']> {
  const { values } = await metrics.syncDuration.get();
  const cumulative = new Map<number, number>();
  let count = 0;
  let sumSeconds = 0;
  for (const v of values) {
    if (workspace !== undefined && v.labels.workspace !== workspace) continue;
    const name = (v as { metricName?: string }).metricName ?? '';
    if (name.endsWith('_bucket')) {
      const bound = (v.labels as { le?: string | number }).le;
      const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
      cumulative.set(le, (cumulative.get(le) ?? 0) + v.value);
    } else if (name.endsWith('_count')) count += v.value;
    else if (name.endsWith('_sum')) sumSeconds += v.value;
  }
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  let below = 0;
  const buckets = bounds.map((le) => {
    const total = cumulative.get(le) ?? 0;
    const bucket = { le, count: total - below };
    below = total;
    return bucket;
  });
  return { buckets, count, sumSeconds };
}
