/**
 * The embedded store: one bun:sqlite database in WAL mode. Every commit is one transaction, so a
 * crash leaves either all of a push (a branch switch included) or none of it.
 */
import { Database } from 'bun:sqlite';
import { contentBytes, type EntryContent, exists, type ManifestEntry } from '../../core/entry.ts';
import type { PathVersion } from '../../core/history.ts';
import { collisionKey } from '../../core/paths.ts';
import type { ChangeResult } from '../../core/protocol.ts';
import { HUB_ID } from '../../core/resolve.ts';
import type { ConflictRecord } from '../../core/settle.ts';
import type { VersionVector } from '../../core/vector.ts';
import { planCommit } from './commit-plan.ts';
import { entryChunks, manifestChunks } from './credentials.ts';
import { ACCESS_SCHEMA, backfillChunkRefs, insertChunkRefs, SqliteAccess } from './sqlite-access.ts';
import {
  CHUNK_JOURNAL_SCHEMA,
  dropJournaledChunks,
  journalChunks,
  journaledChunks,
} from './sqlite-chunk-journal.ts';
import {
  expireHistory,
  historyChunks,
  keepReplaced,
  migrateHistory,
  openConflicts,
  pathHistory,
  recordConflicts,
  settleConflicts,
} from './sqlite-history.ts';
import { SESSIONS_SCHEMA, SqliteSessions } from './sqlite-sessions.ts';
import { keepWorkspaceTotals } from './sqlite-totals.ts';
import {
  type AuditEvent,
  type AuditRecord,
  type ChunkJournal,
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

interface EntryRow {
  path: string;
  content: string;
  vector: string;
  seq: number;
  agent: string;
  branch: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS workspaces (
  name TEXT PRIMARY KEY,
  head INTEGER NOT NULL DEFAULT 0,
  conflicts INTEGER NOT NULL DEFAULT 0,
  epoch TEXT,
  floor INTEGER NOT NULL DEFAULT 0,
  expired_vector TEXT
);
CREATE TABLE IF NOT EXISTS entries (
  workspace TEXT NOT NULL,
  path TEXT NOT NULL,
  collision_key TEXT NOT NULL,
  live INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  content TEXT NOT NULL,
  vector TEXT NOT NULL,
  seq INTEGER NOT NULL,
  agent TEXT NOT NULL,
  branch TEXT,
  at TEXT,
  PRIMARY KEY (workspace, path)
);
CREATE INDEX IF NOT EXISTS entries_by_seq ON entries (workspace, seq);
CREATE INDEX IF NOT EXISTS entries_by_collision ON entries (workspace, collision_key) WHERE live = 1;
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  workspace TEXT NOT NULL,
  agent TEXT NOT NULL,
  op TEXT NOT NULL,
  path TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  duration_ms REAL NOT NULL,
  detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS push_answers (
  id INTEGER PRIMARY KEY,
  workspace TEXT NOT NULL,
  agent TEXT NOT NULL,
  push_id TEXT NOT NULL,
  results TEXT NOT NULL,
  UNIQUE (workspace, agent, push_id)
);
CREATE TABLE IF NOT EXISTS access_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
  workspace TEXT NOT NULL,
  lock_hash TEXT NOT NULL,
  manifest TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  PRIMARY KEY (workspace, lock_hash)
);
`;

export interface SqliteStoreOptions {
  /**
   * SQLite's `synchronous` (default FULL). Only the benches set NORMAL, to price the flushes: a
   * power loss may then take back commits the hub has already answered.
   */
  synchronous?: 'FULL' | 'NORMAL';
}

export class SqliteStore implements Store {
  private readonly db: Database;
  private readonly synchronous: 'FULL' | 'NORMAL';
  readonly access: SqliteAccess;
  readonly sessions: SqliteSessions;
  readonly chunkJournal: ChunkJournal = {
    pending: async () => journaledChunks(this.db),
    drop: async (hashes) =>
      this.unflushed(() => this.db.transaction(() => dropJournaledChunks(this.db, hashes))()),
  };

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.db = new Database(file, { create: true, strict: true });
    // WAL: readers never block the writer. synchronous=FULL flushes the log at every commit, so a
    // push the hub answered survives a power loss (NORMAL survives a killed process only: the
    // last commits wait for a checkpoint to reach the disk); it costs one flush per commit, priced
    // in BENCHMARKS.md (Cost of durable writes on the hub).
    this.synchronous = options.synchronous ?? 'FULL';
    this.db.exec(
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${this.synchronous}; PRAGMA busy_timeout = 5000;`,
    );
    this.db.exec(SCHEMA);
    this.db.exec(ACCESS_SCHEMA);
    this.db.exec(SESSIONS_SCHEMA);
    this.db.exec(CHUNK_JOURNAL_SCHEMA);
    backfillChunkRefs(this.db);
    this.access = new SqliteAccess(this.db);
    this.sessions = new SqliteSessions(this.db);
    const columns = this.db.query('PRAGMA table_info(workspaces)').all() as Array<{ name: string }>;
    // A database made before workspaces had epochs: they get one on their next commit.
    if (!columns.some((c) => c.name === 'epoch'))
      this.db.exec('ALTER TABLE workspaces ADD COLUMN epoch TEXT');
    migrateHistory(this.db, new Date().toISOString());
    keepWorkspaceTotals(this.db);
  }

  async commit(request: CommitRequest): Promise<CommitOutcome> {
    return this.db.transaction(() => this.commitInTransaction(request)).immediate();
  }

  private commitInTransaction(request: CommitRequest): CommitOutcome {
    const { workspace } = request;
    // First, so that whatever this transaction commits (a replayed answer too) has them.
    if (request.journal && request.journal.length > 0) journalChunks(this.db, request.journal);
    this.db.query('INSERT OR IGNORE INTO workspaces (name) VALUES (?)').run(workspace);
    this.db
      .query('UPDATE workspaces SET epoch = ? WHERE name = ? AND epoch IS NULL')
      .run(newEpoch(), workspace);
    const ws = this.db.query('SELECT head, expired_vector FROM workspaces WHERE name = ?').get(workspace) as {
      head: number;
      expired_vector: string | null;
    };
    if (request.uploads && request.uploads.length > 0) insertChunkRefs(this.db, workspace, request.uploads);
    const recorded = request.pushId ? this.recordedAnswer(request, request.pushId) : undefined;
    if (recorded) return replayedOutcome(ws.head, recorded);
    // The immediate transaction holds SQLite's write lock, so the view reads the latest manifest.
    const plan = planCommit(
      request,
      ws.head,
      {
        entry: (path) => this.entryNow(workspace, path),
        livePaths: (key) => this.livePaths(workspace, key),
      },
      ws.expired_vector === null ? undefined : (JSON.parse(ws.expired_vector) as VersionVector),
    );
    if (!plan.complete) throw new Error('bug: a SQLite manifest view never lacks rows');
    const now = new Date().toISOString();
    for (const entry of plan.finalEntries) this.upsert(workspace, entry, now);
    insertChunkRefs(this.db, workspace, entryChunks(plan.finalEntries));
    recordConflicts(this.db, workspace, plan.outcome.conflictCopies, now);
    const { head, conflicts } = plan.outcome;
    this.db
      .query('UPDATE workspaces SET head = ?, conflicts = conflicts + ? WHERE name = ?')
      .run(head, conflicts, workspace);
    if (request.pushId) this.recordAnswer(request, request.pushId, plan.outcome.results);
    return plan.outcome;
  }

  private recordedAnswer(request: CommitRequest, pushId: string): ChangeResult[] | undefined {
    const row = this.db
      .query('SELECT results FROM push_answers WHERE workspace = ? AND agent = ? AND push_id = ?')
      .get(request.workspace, request.agent, pushId) as { results: string } | null;
    return row ? (JSON.parse(row.results) as ChangeResult[]) : undefined;
  }

  private recordAnswer(request: CommitRequest, pushId: string, results: readonly ChangeResult[]): void {
    const { workspace, agent } = request;
    this.db
      .query('INSERT INTO push_answers (workspace, agent, push_id, results) VALUES (?, ?, ?, ?)')
      .run(workspace, agent, pushId, JSON.stringify([...(request.rejected ?? []), ...results]));
    this.db
      .query(
        `DELETE FROM push_answers WHERE workspace = ? AND agent = ? AND id <= (
           SELECT id FROM push_answers WHERE workspace = ? AND agent = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      )
      .run(workspace, agent, workspace, agent, PUSH_ANSWERS_KEPT);
  }

  /** Writes `entry`, keeping the version it replaces in history (see keepReplaced). */
  private upsert(workspace: string, entry: ManifestEntry, now: string): void {
    keepReplaced(this.db, workspace, entry.path, entry.seq, now);
    this.db
      .query(
        `INSERT INTO entries (workspace, path, collision_key, live, bytes, content, vector, seq, agent, branch, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (workspace, path) DO UPDATE SET live = excluded.live, bytes = excluded.bytes,
           content = excluded.content, vector = excluded.vector, seq = excluded.seq,
           agent = excluded.agent, branch = excluded.branch, at = excluded.at`,
      )
      .run(
        workspace,
        entry.path,
        collisionKey(entry.path),
        exists(entry.content) ? 1 : 0,
        contentBytes(entry.content),
        JSON.stringify(entry.content),
        JSON.stringify(entry.vector),
        entry.seq,
        entry.agent,
        entry.branch ?? null,
        now,
      );
  }

  async commitHub(request: HubCommitRequest): Promise<HubCommitOutcome> {
    return this.db.transaction(() => this.commitHubInTransaction(request)).immediate();
  }

  private commitHubInTransaction(request: HubCommitRequest): HubCommitOutcome {
    const { workspace } = request;
    // Under the write lock: a path that moved on since the plan was made makes the plan stale.
    for (const write of request.writes)
      if (this.entryNow(workspace, write.path)?.seq !== write.expectSeq) return { stale: true };
    const ws = this.db.query('SELECT head FROM workspaces WHERE name = ?').get(workspace) as {
      head: number;
    } | null;
    if (!ws) return { stale: true };
    let head = ws.head;
    const now = new Date().toISOString();
    const entries: ManifestEntry[] = request.writes.map((w) => ({
      path: w.path,
      content: w.content,
      vector: w.vector,
      seq: ++head,
      agent: HUB_ID,
    }));
    for (const entry of entries) this.upsert(workspace, entry, now);
    insertChunkRefs(this.db, workspace, entryChunks(entries));
    settleConflicts(this.db, workspace, request.settle, head);
    this.db.query('UPDATE workspaces SET head = ? WHERE name = ?').run(head, workspace);
    return { stale: false, head, entries };
  }

  async conflicts(workspace: string): Promise<ConflictRecord[]> {
    return openConflicts(this.db, workspace);
  }

  async history(workspace: string, path: string): Promise<PathVersion[]> {
    return pathHistory(this.db, workspace, path);
  }

  async expire(request: ExpiryRequest): Promise<ExpiryReport> {
    return expireHistory(this.db, request);
  }

  private livePaths(workspace: string, key: string): string[] {
    const rows = this.db
      .query('SELECT path FROM entries WHERE workspace = ? AND collision_key = ? AND live = 1')
      .all(workspace, key) as Array<{ path: string }>;
    return rows.map((r) => r.path);
  }

  private entryNow(workspace: string, path: string): ManifestEntry | undefined {
    const row = this.db
      .query('SELECT path, content, vector, seq, agent, branch FROM entries WHERE workspace = ? AND path = ?')
      .get(workspace, path) as EntryRow | null;
    return row ? rowToEntry(row) : undefined;
  }

  async entry(workspace: string, path: string): Promise<ManifestEntry | undefined> {
    return this.entryNow(workspace, path);
  }

  async changesSince(workspace: string, since: number, limit: number) {
    const ws = this.db.query('SELECT head, epoch, floor FROM workspaces WHERE name = ?').get(workspace) as {
      head: number;
      epoch: string | null;
      floor: number;
    } | null;
    const rows = this.db
      .query(
        'SELECT path, content, vector, seq, agent, branch FROM entries WHERE workspace = ? AND seq > ? ORDER BY seq LIMIT ?',
      )
      .all(workspace, since, limit) as EntryRow[];
    return {
      head: ws?.head ?? 0,
      epoch: ws?.epoch ?? '',
      floor: ws?.floor ?? 0,
      entries: rows.map(rowToEntry),
    };
  }

  async liveChunks(): Promise<Set<string>> {
    const live = new Set<string>();
    const rows = this.db
      .query(
        `SELECT DISTINCT json_extract(c.value, '$[0]') AS hash FROM entries e, json_each(e.content, '$.chunks') c
         WHERE e.live = 1 AND json_extract(e.content, '$.kind') = 'file'`,
      )
      .all() as Array<{ hash: string }>;
    for (const row of rows) live.add(row.hash);
    for (const hash of historyChunks(this.db)) live.add(hash);
    for (const row of this.db.query('SELECT manifest FROM snapshots').all() as Array<{ manifest: string }>)
      for (const hash of manifestChunks(row.manifest)) live.add(hash);
    return live;
  }

  async forgetChunks(hashes: readonly string[]): Promise<void> {
    const drop = this.db.query('DELETE FROM chunk_refs WHERE hash = ?');
    this.db.transaction(() => {
      for (const hash of hashes) drop.run(hash);
    })();
  }

  async renewEpoch(workspace: string): Promise<string> {
    const epoch = newEpoch();
    this.db.query('UPDATE workspaces SET epoch = ? WHERE name = ?').run(epoch, workspace);
    return epoch;
  }

  async workspaces(): Promise<WorkspaceSummary[]> {
    return this.db
      .query(
        `SELECT name, head, conflicts, live_files AS files, live_bytes AS bytes
         FROM workspaces ORDER BY name`,
      )
      .all() as WorkspaceSummary[];
  }

  async audit(records: readonly AuditRecord[]): Promise<void> {
    const insert = this.db.query(
      'INSERT INTO audit (workspace, agent, op, path, bytes, duration_ms, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    // The audit rows of a push follow its commit in a transaction of their own. They are not
    // flushed on their own: the next commit's flush of the log takes them along, so a power loss
    // can lose the last few rows but never a version, and a push pays one flush of the log, not two.
    this.unflushed(() =>
      this.db.transaction(() => {
        for (const r of records)
          insert.run(r.workspace, r.agent, r.op, r.path, r.bytes, r.durationMs, r.detail);
      })(),
    );
  }

  /**
   * Runs `write` without a flush of the log of its own (WAL, synchronous=NORMAL): the next commit's
   * flush takes it along, since the log reaches the disk in order.
   */
  private unflushed(write: () => void): void {
    this.db.exec('PRAGMA synchronous = NORMAL;');
    try {
      write();
    } finally {
      this.db.exec(`PRAGMA synchronous = ${this.synchronous};`);
    }
  }

  async putSnapshot(workspace: string, lockHash: string, manifest: string): Promise<void> {
    this.db
      .query(
        `INSERT INTO snapshots (workspace, lock_hash, manifest) VALUES (?, ?, ?)
         ON CONFLICT (workspace, lock_hash) DO UPDATE SET manifest = excluded.manifest,
           created_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
      )
      .run(workspace, lockHash, manifest);
  }

  async snapshot(workspace: string, lockHash: string): Promise<StoredSnapshot | undefined> {
    const row = this.db
      .query('SELECT manifest, created_at AS createdAt FROM snapshots WHERE workspace = ? AND lock_hash = ?')
      .get(workspace, lockHash) as { manifest: string; createdAt: string } | null;
    return row ? { workspace, lockHash, ...row } : undefined;
  }

  async recentAudit(workspace: string | undefined, limit: number): Promise<AuditEvent[]> {
    const columns = 'at, workspace, agent, op, path, bytes, duration_ms AS durationMs, detail';
    return (
      workspace === undefined
        ? this.db.query(`SELECT ${columns} FROM audit ORDER BY id DESC LIMIT ?`).all(limit)
        : this.db
            .query(`SELECT ${columns} FROM audit WHERE workspace = ? ORDER BY id DESC LIMIT ?`)
            .all(workspace, limit)
    ) as AuditEvent[];
  }

  /** Rows of the audit log, newest last (for status and tests). */
  auditRows(workspace: string): Array<{ op: string; path: string; agent: string; bytes: number }> {
    return this.db
      .query('SELECT op, path, agent, bytes FROM audit WHERE workspace = ? ORDER BY id')
      .all(workspace) as Array<{ op: string; path: string; agent: string; bytes: number }>;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function rowToEntry(row: EntryRow): ManifestEntry {
  // Rows were validated on the way in; the database is inside the trust boundary.
  const entry: ManifestEntry = {
    path: row.path,
    content: JSON.parse(row.content) as EntryContent,
    vector: JSON.parse(row.vector) as VersionVector,
    seq: row.seq,
    agent: row.agent,
  };
  if (row.branch !== null) entry.branch = row.branch;
  return entry;
}
