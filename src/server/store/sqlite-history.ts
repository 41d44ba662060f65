/**
 * History, conflict records and expiry in the embedded SQLite store: the versions sync replaced or
 * deleted (kept for the retention period), the conflicts not yet settled, and the dropping of both
 * history and tombstones once past retention. Called by SqliteStore inside its transactions.
 */
import type { Database } from 'bun:sqlite';
import type { EntryContent } from '../../core/entry.ts';
import type { PathVersion } from '../../core/history.ts';
import type { ConflictRecord } from '../../core/settle.ts';
import type { VersionVector } from '../../core/vector.ts';
import { type ConflictCopyMade, type ExpiryReport, type ExpiryRequest, expiredSummary } from './store.ts';

export const HISTORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS history (
  workspace TEXT NOT NULL,
  path TEXT NOT NULL,
  seq INTEGER NOT NULL,
  content TEXT NOT NULL,
  vector TEXT NOT NULL,
  agent TEXT NOT NULL,
  branch TEXT,
  at TEXT NOT NULL,
  replaced_seq INTEGER NOT NULL,
  replaced_at TEXT NOT NULL,
  PRIMARY KEY (workspace, path, seq)
);
CREATE INDEX IF NOT EXISTS history_by_age ON history (replaced_at);
CREATE TABLE IF NOT EXISTS conflicts (
  workspace TEXT NOT NULL,
  copy_path TEXT NOT NULL,
  path TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at TEXT NOT NULL,
  kept_agent TEXT NOT NULL,
  copy_agent TEXT NOT NULL,
  settled_seq INTEGER,
  settled_how TEXT,
  PRIMARY KEY (workspace, copy_path)
);
CREATE INDEX IF NOT EXISTS conflicts_by_path ON conflicts (workspace, path) WHERE settled_seq IS NULL;
`;

/**
 * Brings a database made before history up to date: entries get the hub's time of their commit
 * (rows already there take the time of the migration, so their retention starts now), workspaces
 * a floor and an expired vector (see expireHistory). Idempotent.
 */
export function migrateHistory(db: Database, now: string): void {
  const has = (table: string, column: string) =>
    // prepare, not query: a cached statement would answer with the columns before an ALTER.
    (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).some(
      (c) => c.name === column,
    );
  if (!has('entries', 'at')) db.exec('ALTER TABLE entries ADD COLUMN at TEXT');
  db.query('UPDATE entries SET at = ? WHERE at IS NULL').run(now);
  if (!has('workspaces', 'floor'))
    db.exec('ALTER TABLE workspaces ADD COLUMN floor INTEGER NOT NULL DEFAULT 0');
  if (!has('workspaces', 'expired_vector')) db.exec('ALTER TABLE workspaces ADD COLUMN expired_vector TEXT');
  db.exec(HISTORY_SCHEMA);
}

/**
 * Keeps the version `path` holds now in history when it is a file or a link and a commit at `seq`
 * is about to replace it; a folder or a tombstone holds nothing to restore.
 */
export function keepReplaced(db: Database, workspace: string, path: string, seq: number, now: string): void {
  db.query(
    `INSERT OR IGNORE INTO history (workspace, path, seq, content, vector, agent, branch, at, replaced_seq, replaced_at)
     SELECT workspace, path, seq, content, vector, agent, branch, COALESCE(at, ?), ?, ? FROM entries
     WHERE workspace = ? AND path = ? AND live = 1 AND seq < ?
       AND json_extract(content, '$.kind') IN ('file', 'symlink')`,
  ).run(now, seq, now, workspace, path, seq);
}

export function recordConflicts(
  db: Database,
  workspace: string,
  copies: readonly ConflictCopyMade[],
  now: string,
): void {
  const insert = db.query(
    `INSERT INTO conflicts (workspace, copy_path, path, seq, at, kept_agent, copy_agent)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (workspace, copy_path) DO UPDATE SET path = excluded.path, seq = excluded.seq,
       at = excluded.at, kept_agent = excluded.kept_agent, copy_agent = excluded.copy_agent,
       settled_seq = NULL, settled_how = NULL`,
  );
  for (const c of copies) insert.run(workspace, c.copyPath, c.path, c.seq, now, c.keptAgent, c.copyAgent);
}

export function settleConflicts(
  db: Database,
  workspace: string,
  settle: ReadonlyArray<{ copyPath: string; how: string }>,
  seq: number,
): void {
  const update = db.query(
    'UPDATE conflicts SET settled_seq = ?, settled_how = ? WHERE workspace = ? AND copy_path = ? AND settled_seq IS NULL',
  );
  for (const s of settle) update.run(seq, s.how, workspace, s.copyPath);
}

interface ConflictRow {
  path: string;
  copyPath: string;
  seq: number;
  at: string;
  keptAgent: string;
  copyAgent: string;
}

export function openConflicts(db: Database, workspace: string): ConflictRecord[] {
  return db
    .query(
      `SELECT c.path AS path, c.copy_path AS copyPath, c.seq AS seq, c.at AS at,
         c.kept_agent AS keptAgent, c.copy_agent AS copyAgent
       FROM conflicts c JOIN entries e ON e.workspace = c.workspace AND e.path = c.copy_path AND e.live = 1
       WHERE c.workspace = ? AND c.settled_seq IS NULL ORDER BY c.seq, c.copy_path`,
    )
    .all(workspace) as ConflictRow[];
}

interface VersionRow {
  path: string;
  seq: number;
  content: string;
  vector: string;
  agent: string;
  at: string;
  replaced_seq: number | null;
  replaced_at: string | null;
}

export function pathHistory(db: Database, workspace: string, path: string): PathVersion[] {
  const rows = db
    .query(
      `SELECT path, seq, content, vector, agent, at, replaced_seq, replaced_at FROM history
         WHERE workspace = ? AND path = ?
       UNION ALL
       SELECT path, seq, content, vector, agent, COALESCE(at, ''), NULL, NULL FROM entries
         WHERE workspace = ? AND path = ?
       ORDER BY seq DESC`,
    )
    .all(workspace, path, workspace, path) as VersionRow[];
  return rows.map((r) => {
    const version: PathVersion = {
      path: r.path,
      seq: r.seq,
      content: JSON.parse(r.content) as EntryContent,
      vector: JSON.parse(r.vector) as VersionVector,
      agent: r.agent,
      at: r.at,
    };
    if (r.replaced_seq !== null) version.replacedSeq = r.replaced_seq;
    if (r.replaced_at !== null) version.replacedAt = r.replaced_at;
    return version;
  });
}

/** The chunks of every version kept in history (collection keeps them until they expire). */
export function historyChunks(db: Database): string[] {
  return (
    db
      .query(
        `SELECT DISTINCT json_extract(c.value, '$[0]') AS hash FROM history h, json_each(h.content, '$.chunks') c
         WHERE json_extract(h.content, '$.kind') = 'file'`,
      )
      .all() as Array<{ hash: string }>
  ).map((r) => r.hash);
}

/**
 * Drops what is past retention, in one transaction: history rows replaced before the cutoff, and
 * per workspace the tombstones made before it up to the workspace's limit, raising its floor to
 * the newest one dropped (so that a page read from below it says so) and merging their vectors
 * into its expired vector (so that a version later accepted at such a path dominates them).
 */
export function expireHistory(db: Database, request: ExpiryRequest): ExpiryReport {
  return db.transaction(() => {
    const versions = db.query('DELETE FROM history WHERE replaced_at < ?').run(request.cutoff).changes;
    let tombstones = 0;
    const workspaces = db.query('SELECT name, head, expired_vector FROM workspaces').all() as Array<{
      name: string;
      head: number;
      expired_vector: string | null;
    }>;
    for (const ws of workspaces) {
      const limit = request.tombstoneLimit(ws.name, ws.head);
      const dropped = db
        .query('SELECT seq, vector FROM entries WHERE workspace = ? AND live = 0 AND seq <= ? AND at < ?')
        .all(ws.name, limit, request.cutoff) as Array<{ seq: number; vector: string }>;
      if (dropped.length === 0) continue;
      db.query('DELETE FROM entries WHERE workspace = ? AND live = 0 AND seq <= ? AND at < ?').run(
        ws.name,
        limit,
        request.cutoff,
      );
      tombstones += dropped.length;
      const { floor, vector } = expiredSummary(
        ws.expired_vector === null ? {} : (JSON.parse(ws.expired_vector) as VersionVector),
        dropped.map((d) => ({ seq: d.seq, vector: JSON.parse(d.vector) as VersionVector })),
      );
      db.query('UPDATE workspaces SET floor = MAX(floor, ?), expired_vector = ? WHERE name = ?').run(
        floor,
        JSON.stringify(vector),
        ws.name,
      );
    }
    return { versions, tombstones };
  })();
}
