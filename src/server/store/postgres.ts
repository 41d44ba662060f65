/**
 * The scale-out store: PostgreSQL, shared by every hub replica. Same rules as the embedded store
 * (both run `planCommit`); what differs is how a commit is serialised. Each commit locks its
 * workspace row (`SELECT ... FOR UPDATE`) for the whole transaction, so commits of one workspace
 * through different replicas run one after the other: sequence numbers stay dense and every
 * version-vector check sees the latest version.
 *
 * PostgreSQL going away is an expected failure: every method then throws ServiceUnavailableError
 * (503 at the edge), and the first call after it returns runs the (idempotent) start-up work again.
 */
import pg from 'pg';
import { contentBytes, type EntryContent, exists, type ManifestEntry } from '../../core/entry.ts';
import type { PathVersion } from '../../core/history.ts';
import { collisionKey } from '../../core/paths.ts';
import type { ChangeResult } from '../../core/protocol.ts';
import { HUB_ID } from '../../core/resolve.ts';
import type { ConflictRecord } from '../../core/settle.ts';
import type { VersionVector } from '../../core/vector.ts';
import { type ManifestView, planCommit, UNKNOWN } from './commit-plan.ts';
import { entryChunks, manifestChunks } from './credentials.ts';
import { insertChunkRefs, type PgRunner, PostgresAccess } from './postgres-access.ts';
import {
  expireHistory,
  historyChunks,
  keepReplaced,
  openConflicts,
  pathHistory,
  recordConflicts,
  settleConflicts,
} from './postgres-history.ts';
import { ensureAuditPartitions, migrate } from './postgres-schema.ts';
import { PostgresSessions } from './postgres-sessions.ts';
import {
  type AuditEvent,
  type AuditRecord,
  type CommitOutcome,
  type CommitRequest,
  type ExpiryReport,
  type ExpiryRequest,
  type HubCommitOutcome,
  type HubCommitRequest,
  newEpoch,
  PUSH_ANSWERS_KEPT,
  replayedOutcome,
  type Store,
  type StoredSnapshot,
  type WorkspaceSummary,
} from './store.ts';
import { isConnectionError, type ServiceState, ServiceUnavailableError } from './unavailable.ts';

interface EntryRow {
  path: string;
  content: EntryContent;
  vector: VersionVector;
  seq: string | number;
  agent: string;
  branch: string | null;
}

export interface PostgresStoreOptions {
  url: string;
  /** Connections in this replica's pool (default 10). */
  poolSize?: number;
  /** How often the audit partitions ahead are refreshed (default every 6 hours). */
  partitionRefreshMs?: number;
  log?: (line: string) => void;
}

const ENTRY_COLUMNS = 'path, content, vector, seq, agent, branch';
/** Rounds of planning a commit may take (round 2 only loads conflict copies' rows). */
const MAX_PLAN_ROUNDS = 8;

export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  readonly access: PostgresAccess;
  readonly sessions: PostgresSessions;
  private ready: Promise<void> | undefined;
  private readonly refresh: ReturnType<typeof setInterval>;

  constructor(options: PostgresStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 3000,
    });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool.on('error', (error) => options.log?.(`postgres: idle connection lost: ${error.message}`));
    this.refresh = setInterval(
      () => {
        ensureAuditPartitions(this.pool).catch((error) =>
          options.log?.(`postgres: cannot refresh audit partitions: ${(error as Error).message}`),
        );
      },
      options.partitionRefreshMs ?? 6 * 3600_000,
    );
    this.refresh.unref?.();
    const run: PgRunner = async (text, values) => {
      await this.start();
      return this.guard(() => this.pool.query(text, values));
    };
    this.access = new PostgresAccess(run);
    this.sessions = new PostgresSessions(run);
  }

  /** Runs the migrations (once; again after a failure). Throws ServiceUnavailableError when down. */
  async start(): Promise<void> {
    this.ready ??= migrate(this.pool).catch((error) => {
      this.ready = undefined;
      throw error;
    });
    await this.guard(() => this.ready as Promise<void>);
  }

  async health(): Promise<ServiceState> {
    try {
      await this.start();
      await this.pool.query('SELECT 1');
      return 'up';
    } catch {
      return 'down';
    }
  }

  async commit(request: CommitRequest): Promise<CommitOutcome> {
    await this.start();
    return this.guard(() => this.transaction((client) => this.commitIn(client, request)));
  }

  private async commitIn(client: pg.PoolClient, request: CommitRequest): Promise<CommitOutcome> {
    const { workspace } = request;
    await client.query('INSERT INTO workspaces (name) VALUES ($1) ON CONFLICT DO NOTHING', [workspace]);
    await client.query('UPDATE workspaces SET epoch = $2 WHERE name = $1 AND epoch IS NULL', [
      workspace,
      newEpoch(),
    ]);
    const locked = await client.query<{ head: string; expired_vector: VersionVector | null }>(
      'SELECT head, expired_vector FROM workspaces WHERE name = $1 FOR UPDATE',
      [workspace],
    );
    const head = Number(locked.rows[0]?.head ?? 0);
    const expired = locked.rows[0]?.expired_vector ?? undefined;
    if (request.uploads && request.uploads.length > 0)
      await insertChunkRefs(client, workspace, request.uploads);
    // Under the workspace lock, so a push sent again while its first copy commits waits for it.
    const recorded = request.pushId ? await recordedAnswer(client, request, request.pushId) : undefined;
    if (recorded) return replayedOutcome(head, recorded);
    const view = new LoadedView();
    let need = {
      paths: new Set(request.changes.map((c) => c.path)),
      keys: new Set(request.changes.map((c) => collisionKey(c.path))),
    };
    for (let round = 0; round < MAX_PLAN_ROUNDS; round++) {
      await view.load(client, workspace, need.paths, need.keys);
      const plan = planCommit(request, head, view, expired);
      if (plan.complete) {
        await upsertEntries(client, workspace, plan.finalEntries);
        await insertChunkRefs(client, workspace, entryChunks(plan.finalEntries));
        await recordConflicts(client, workspace, plan.outcome.conflictCopies);
        await client.query('UPDATE workspaces SET head = $2, conflicts = conflicts + $3 WHERE name = $1', [
          workspace,
          plan.outcome.head,
          plan.outcome.conflicts,
        ]);
        if (request.pushId) await recordAnswer(client, request, request.pushId, plan.outcome.results);
        return plan.outcome;
      }
      need = plan;
    }
    throw new Error(`bug: a commit plan still lacked rows after ${MAX_PLAN_ROUNDS} rounds`);
  }

  async commitHub(request: HubCommitRequest): Promise<HubCommitOutcome> {
    await this.start();
    return this.guard(() => this.transaction((client) => this.commitHubIn(client, request)));
  }

  private async commitHubIn(client: pg.PoolClient, request: HubCommitRequest): Promise<HubCommitOutcome> {
    const { workspace } = request;
    const locked = await client.query<{ head: string }>(
      'SELECT head FROM workspaces WHERE name = $1 FOR UPDATE',
      [workspace],
    );
    const row = locked.rows[0];
    if (!row) return { stale: true };
    // Under the workspace lock: a path that moved on since the plan was made makes the plan stale.
    const held = await client.query<{ path: string; seq: string }>(
      'SELECT path, seq FROM entries WHERE workspace = $1 AND path = ANY($2::text[])',
      [workspace, request.writes.map((w) => w.path)],
    );
    const seqs = new Map(held.rows.map((r) => [r.path, Number(r.seq)]));
    for (const write of request.writes) if (seqs.get(write.path) !== write.expectSeq) return { stale: true };
    let head = Number(row.head);
    const entries: ManifestEntry[] = request.writes.map((w) => ({
      path: w.path,
      content: w.content,
      vector: w.vector,
      seq: ++head,
      agent: HUB_ID,
    }));
    await upsertEntries(client, workspace, entries);
    await insertChunkRefs(client, workspace, entryChunks(entries));
    await settleConflicts(client, workspace, request.settle, head);
    await client.query('UPDATE workspaces SET head = $2 WHERE name = $1', [workspace, head]);
    return { stale: false, head, entries };
  }

  async conflicts(workspace: string): Promise<ConflictRecord[]> {
    await this.start();
    return this.guard(() => openConflicts(this.pool, workspace));
  }

  async history(workspace: string, path: string): Promise<PathVersion[]> {
    await this.start();
    return this.guard(() => pathHistory(this.pool, workspace, path));
  }

  async expire(request: ExpiryRequest): Promise<ExpiryReport> {
    await this.start();
    return this.guard(() => expireHistory((work) => this.transaction(work), request));
  }

  async changesSince(workspace: string, since: number, limit: number) {
    await this.start();
    return this.guard(async () => {
      const ws = await this.pool.query<{ head: string; epoch: string | null; floor: string }>(
        'SELECT head, epoch, floor FROM workspaces WHERE name = $1',
        [workspace],
      );
      const rows = await this.pool.query<EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM entries WHERE workspace = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [workspace, since, limit],
      );
      return {
        head: Number(ws.rows[0]?.head ?? 0),
        epoch: ws.rows[0]?.epoch ?? '',
        floor: Number(ws.rows[0]?.floor ?? 0),
        entries: rows.rows.map(rowToEntry),
      };
    });
  }

  async liveChunks(): Promise<Set<string>> {
    await this.start();
    return this.guard(async () => {
      const live = new Set<string>();
      const rows = await this.pool.query<{ hash: string }>(
        `SELECT DISTINCT c->>0 AS hash FROM entries e, jsonb_array_elements(e.content->'chunks') c
         WHERE e.live AND e.content->>'kind' = 'file'`,
      );
      for (const row of rows.rows) live.add(row.hash);
      for (const hash of await historyChunks(this.pool)) live.add(hash);
      const snapshots = await this.pool.query<{ manifest: string }>('SELECT manifest FROM snapshots');
      for (const row of snapshots.rows) for (const hash of manifestChunks(row.manifest)) live.add(hash);
      return live;
    });
  }

  async forgetChunks(hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    await this.start();
    await this.guard(() =>
      this.pool.query('DELETE FROM chunk_refs WHERE hash = ANY($1::text[])', [[...hashes]]),
    );
  }

  async renewEpoch(workspace: string): Promise<string> {
    await this.start();
    const epoch = newEpoch();
    await this.guard(() =>
      this.pool.query('UPDATE workspaces SET epoch = $2 WHERE name = $1', [workspace, epoch]),
    );
    return epoch;
  }

  async entry(workspace: string, path: string): Promise<ManifestEntry | undefined> {
    await this.start();
    return this.guard(async () => {
      const rows = await this.pool.query<EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM entries WHERE workspace = $1 AND path = $2`,
        [workspace, path],
      );
      const row = rows.rows[0];
      return row ? rowToEntry(row) : undefined;
    });
  }

  async workspaces(): Promise<WorkspaceSummary[]> {
    await this.start();
    return this.guard(async () => {
      const rows = await this.pool.query<Record<keyof WorkspaceSummary, string>>(
        `SELECT name, head, conflicts, live_files AS files, live_bytes AS bytes
         FROM workspaces ORDER BY name`,
      );
      return rows.rows.map((r) => ({
        name: r.name,
        head: Number(r.head),
        files: Number(r.files),
        bytes: Number(r.bytes),
        conflicts: Number(r.conflicts),
      }));
    });
  }

  async audit(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.start();
    const insert = () =>
      this.pool.query(
        `INSERT INTO audit (workspace, agent, op, path, bytes, duration_ms, detail)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::float8[], $7::text[])`,
        [
          records.map((r) => r.workspace),
          records.map((r) => r.agent),
          records.map((r) => r.op),
          records.map((r) => r.path),
          records.map((r) => r.bytes),
          records.map((r) => r.durationMs),
          records.map((r) => r.detail),
        ],
      );
    await this.guard(async () => {
      try {
        await insert();
      } catch (error) {
        // 23514 "no partition of relation found for row": the month turned before the refresh ran.
        if ((error as { code?: string }).code !== '23514') throw error;
        await ensureAuditPartitions(this.pool);
        await insert();
      }
    });
  }

  async putSnapshot(workspace: string, lockHash: string, manifest: string): Promise<void> {
    await this.start();
    await this.guard(() =>
      this.pool.query(
        `INSERT INTO snapshots (workspace, lock_hash, manifest) VALUES ($1, $2, $3)
         ON CONFLICT (workspace, lock_hash) DO UPDATE SET manifest = EXCLUDED.manifest, created_at = now()`,
        [workspace, lockHash, manifest],
      ),
    );
  }

  async snapshot(workspace: string, lockHash: string): Promise<StoredSnapshot | undefined> {
    await this.start();
    const rows = await this.guard(() =>
      this.pool.query<{ manifest: string; created_at: Date }>(
        'SELECT manifest, created_at FROM snapshots WHERE workspace = $1 AND lock_hash = $2',
        [workspace, lockHash],
      ),
    );
    const row = rows.rows[0];
    return row
      ? { workspace, lockHash, manifest: row.manifest, createdAt: row.created_at.toISOString() }
      : undefined;
  }

  async recentAudit(workspace: string | undefined, limit: number): Promise<AuditEvent[]> {
    await this.start();
    // By time first: the partitions are by time, and ids are only ordered within one replica's
    // sequence cache.
    const rows = await this.guard(() =>
      this.pool.query<{
        at: Date;
        workspace: string;
        agent: string;
        op: AuditEvent['op'];
        path: string;
        bytes: string;
        duration_ms: number;
        detail: string;
      }>(
        `SELECT at, workspace, agent, op, path, bytes, duration_ms, detail FROM audit
         WHERE $1::text IS NULL OR workspace = $1 ORDER BY at DESC, id DESC LIMIT $2`,
        [workspace ?? null, limit],
      ),
    );
    return rows.rows.map((r) => ({
      at: r.at.toISOString(),
      workspace: r.workspace,
      agent: r.agent,
      op: r.op,
      path: r.path,
      bytes: Number(r.bytes),
      durationMs: r.duration_ms,
      detail: r.detail,
    }));
  }

  /** Audit rows of a workspace with the partition that holds each (for operators and tests). */
  async auditRows(
    workspace: string,
  ): Promise<Array<{ op: string; path: string; agent: string; bytes: number; at: Date; partition: string }>> {
    await this.start();
    const rows = await this.guard(() =>
      this.pool.query<{
        op: string;
        path: string;
        agent: string;
        bytes: string;
        at: Date;
        partition: string;
      }>(
        `SELECT op, path, agent, bytes, at, tableoid::regclass::text AS partition
         FROM audit WHERE workspace = $1 ORDER BY id`,
        [workspace],
      ),
    );
    return rows.rows.map((r) => ({ ...r, bytes: Number(r.bytes) }));
  }

  async close(): Promise<void> {
    clearInterval(this.refresh);
    await this.pool.end().catch(() => {});
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = isConnectionError(error);
      if (!broken) await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      // A client whose connection failed is destroyed rather than returned to the pool.
      client.release(broken ? true : undefined);
    }
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isConnectionError(error)) throw new ServiceUnavailableError('postgres', (error as Error).message);
      throw error;
    }
  }
}

async function recordedAnswer(
  client: pg.PoolClient,
  request: CommitRequest,
  pushId: string,
): Promise<ChangeResult[] | undefined> {
  const rows = await client.query<{ results: ChangeResult[] }>(
    'SELECT results FROM push_answers WHERE workspace = $1 AND agent = $2 AND push_id = $3',
    [request.workspace, request.agent, pushId],
  );
  return rows.rows[0]?.results;
}

async function recordAnswer(
  client: pg.PoolClient,
  request: CommitRequest,
  pushId: string,
  results: readonly ChangeResult[],
): Promise<void> {
  const { workspace, agent } = request;
  await client.query(
    'INSERT INTO push_answers (workspace, agent, push_id, results) VALUES ($1, $2, $3, $4)',
    [workspace, agent, pushId, JSON.stringify([...(request.rejected ?? []), ...results])],
  );
  await client.query(
    `DELETE FROM push_answers WHERE workspace = $1 AND agent = $2 AND id <= (
       SELECT id FROM push_answers WHERE workspace = $1 AND agent = $2 ORDER BY id DESC LIMIT 1 OFFSET $3)`,
    [workspace, agent, PUSH_ANSWERS_KEPT],
  );
}

/** The manifest rows one commit has loaded, answering UNKNOWN for the rest. */
class LoadedView implements ManifestView {
  private readonly entries = new Map<string, ManifestEntry | undefined>();
  private readonly keys = new Map<string, string[]>();

  entry(path: string): ManifestEntry | undefined | typeof UNKNOWN {
    return this.entries.has(path) ? this.entries.get(path) : UNKNOWN;
  }

  livePaths(key: string): readonly string[] | typeof UNKNOWN {
    return this.keys.get(key) ?? UNKNOWN;
  }

  async load(client: pg.PoolClient, workspace: string, paths: Set<string>, keys: Set<string>): Promise<void> {
    const wantPaths = [...paths].filter((p) => !this.entries.has(p));
    if (wantPaths.length > 0) {
      const rows = await client.query<EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM entries WHERE workspace = $1 AND path = ANY($2::text[])`,
        [workspace, wantPaths],
      );
      for (const path of wantPaths) this.entries.set(path, undefined);
      for (const row of rows.rows) this.entries.set(row.path, rowToEntry(row));
    }
    const wantKeys = [...keys].filter((k) => !this.keys.has(k));
    if (wantKeys.length > 0) {
      const rows = await client.query<EntryRow & { collision_key: string }>(
        `SELECT ${ENTRY_COLUMNS}, collision_key FROM entries
         WHERE workspace = $1 AND collision_key = ANY($2::text[]) AND live`,
        [workspace, wantKeys],
      );
      for (const key of wantKeys) this.keys.set(key, []);
      for (const row of rows.rows) {
        this.keys.get(row.collision_key)?.push(row.path);
        this.entries.set(row.path, rowToEntry(row));
      }
    }
  }
}

/** Writes the entries, keeping the versions they replace in history (see keepReplaced). */
async function upsertEntries(client: pg.PoolClient, workspace: string, entries: readonly ManifestEntry[]) {
  if (entries.length === 0) return;
  await keepReplaced(client, workspace, entries);
  await client.query(
    `INSERT INTO entries (workspace, path, collision_key, live, bytes, content, vector, seq, agent, branch)
     SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::bool[], $5::int8[], $6::jsonb[], $7::jsonb[],
       $8::int8[], $9::text[], $10::text[])
     ON CONFLICT (workspace, path) DO UPDATE SET collision_key = excluded.collision_key,
       live = excluded.live, bytes = excluded.bytes, content = excluded.content,
       vector = excluded.vector, seq = excluded.seq, agent = excluded.agent, branch = excluded.branch,
       at = now()`,
    [
      workspace,
      entries.map((e) => e.path),
      entries.map((e) => collisionKey(e.path)),
      entries.map((e) => exists(e.content)),
      entries.map((e) => contentBytes(e.content)),
      entries.map((e) => JSON.stringify(e.content)),
      entries.map((e) => JSON.stringify(e.vector)),
      entries.map((e) => e.seq),
      entries.map((e) => e.agent),
      entries.map((e) => e.branch ?? null),
    ],
  );
}

function rowToEntry(row: EntryRow): ManifestEntry {
  // Rows were validated on the way in; the database is inside the trust boundary.
  const entry: ManifestEntry = {
    path: row.path,
    content: row.content,
    vector: row.vector,
    seq: Number(row.seq),
    agent: row.agent,
  };
  if (row.branch !== null) entry.branch = row.branch;
  return entry;
}
