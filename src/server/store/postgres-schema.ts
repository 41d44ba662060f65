/**
 * The PostgreSQL schema: numbered migrations applied at start-up, and the monthly partitions of
 * the audit log, created ahead of time.
 *
 * Several replicas may start at once: migrations run under a session advisory lock, and each
 * migration is recorded in `warmsync_migrations` in the same transaction that applies it, so every
 * migration runs exactly once whoever gets the lock first. Partition creation takes a transaction
 * advisory lock and uses IF NOT EXISTS, so concurrent refreshes are harmless.
 */
import type pg from 'pg';

/** Advisory lock keys (arbitrary constants, fixed forever: other versions must agree on them). */
const MIGRATION_LOCK = 7_420_001;
const PARTITION_LOCK = 7_420_002;

/** Months of audit partitions that exist at any time: this month and the next two. */
export const AUDIT_MONTHS_AHEAD = 2;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE workspaces (
     name TEXT PRIMARY KEY,
     head BIGINT NOT NULL DEFAULT 0,
     conflicts BIGINT NOT NULL DEFAULT 0
   );
   CREATE TABLE entries (
     workspace TEXT NOT NULL,
     path TEXT NOT NULL,
     collision_key TEXT NOT NULL,
     live BOOLEAN NOT NULL,
     bytes BIGINT NOT NULL,
     content JSONB NOT NULL,
     vector JSONB NOT NULL,
     seq BIGINT NOT NULL,
     agent TEXT NOT NULL,
     branch TEXT,
     PRIMARY KEY (workspace, path)
   );
   CREATE INDEX entries_by_seq ON entries (workspace, seq);
   CREATE INDEX entries_by_collision ON entries (workspace, collision_key) WHERE live;
   CREATE TABLE audit (
     id BIGSERIAL,
     at TIMESTAMPTZ NOT NULL DEFAULT now(),
     workspace TEXT NOT NULL,
     agent TEXT NOT NULL,
     op TEXT NOT NULL,
     path TEXT NOT NULL,
     bytes BIGINT NOT NULL,
     duration_ms DOUBLE PRECISION NOT NULL,
     detail TEXT NOT NULL,
     PRIMARY KEY (id, at)
   ) PARTITION BY RANGE (at);
   CREATE INDEX audit_by_workspace ON audit (workspace, at);`,
  // 2: dependency snapshot manifests, one per (workspace, lockfile hash).
  `CREATE TABLE IF NOT EXISTS snapshots (
     workspace TEXT NOT NULL,
     lock_hash TEXT NOT NULL,
     manifest TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (workspace, lock_hash)
   );`,
  // 3: the recorded answers of pushes, so a push sent again is answered, not committed twice.
  `CREATE TABLE IF NOT EXISTS push_answers (
     id BIGSERIAL PRIMARY KEY,
     workspace TEXT NOT NULL,
     agent TEXT NOT NULL,
     push_id TEXT NOT NULL,
     results JSONB NOT NULL,
     UNIQUE (workspace, agent, push_id)
   );`,
  // 4: workspace epochs; a workspace made before gets one on its next commit.
  `ALTER TABLE workspaces ADD COLUMN IF NOT EXISTS epoch TEXT;`,
  // 5: workspace credentials (secrets hashed) and the chunks each workspace may read, filled from
  // the entries already stored.
  `CREATE TABLE IF NOT EXISTS credentials (
     id TEXT PRIMARY KEY,
     workspace TEXT NOT NULL,
     read_only BOOLEAN NOT NULL,
     secret_hash TEXT NOT NULL,
     label TEXT NOT NULL,
     agent TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     revoked_at TIMESTAMPTZ
   );
   CREATE TABLE IF NOT EXISTS chunk_refs (
     workspace TEXT NOT NULL,
     hash TEXT NOT NULL,
     PRIMARY KEY (workspace, hash)
   );
   INSERT INTO chunk_refs (workspace, hash)
     SELECT DISTINCT e.workspace, c->>0 FROM entries e, jsonb_array_elements(e.content->'chunks') c
     WHERE e.content->>'kind' = 'file'
     ON CONFLICT DO NOTHING;`,
  // 6: history (versions sync replaced or deleted, kept for the retention period), conflict
  // records, the hub's time of each entry (rows already there take the migration's time, so their
  // retention starts now), each workspace's floor (the newest tombstone expiry dropped) and
  // expired vector (the merge of the dropped tombstones' vectors).
  `ALTER TABLE entries ADD COLUMN IF NOT EXISTS at TIMESTAMPTZ;
   UPDATE entries SET at = now() WHERE at IS NULL;
   ALTER TABLE entries ALTER COLUMN at SET DEFAULT now();
   ALTER TABLE workspaces ADD COLUMN IF NOT EXISTS floor BIGINT NOT NULL DEFAULT 0;
   ALTER TABLE workspaces ADD COLUMN IF NOT EXISTS expired_vector JSONB;
   CREATE TABLE IF NOT EXISTS history (
     workspace TEXT NOT NULL,
     path TEXT NOT NULL,
     seq BIGINT NOT NULL,
     content JSONB NOT NULL,
     vector JSONB NOT NULL,
     agent TEXT NOT NULL,
     branch TEXT,
     at TIMESTAMPTZ NOT NULL,
     replaced_seq BIGINT NOT NULL,
     replaced_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (workspace, path, seq)
   );
   CREATE INDEX IF NOT EXISTS history_by_age ON history (replaced_at);
   CREATE TABLE IF NOT EXISTS conflicts (
     workspace TEXT NOT NULL,
     copy_path TEXT NOT NULL,
     path TEXT NOT NULL,
     seq BIGINT NOT NULL,
     at TIMESTAMPTZ NOT NULL,
     kept_agent TEXT NOT NULL,
     copy_agent TEXT NOT NULL,
     settled_seq BIGINT,
     settled_how TEXT,
     PRIMARY KEY (workspace, copy_path)
   );
   CREATE INDEX IF NOT EXISTS conflicts_open ON conflicts (workspace, path) WHERE settled_seq IS NULL;`,
  // 7: each workspace's live file count and bytes, kept by statement triggers on entries (one
  // update of the workspace row per statement, not per row: a first sync's slice writes
  // thousands of entries in one statement), so that reading them costs one row, not a scan.
  // The lock keeps other replicas' writes out between the count and the triggers.
  `LOCK TABLE entries IN SHARE ROW EXCLUSIVE MODE;
   ALTER TABLE workspaces ADD COLUMN live_files BIGINT NOT NULL DEFAULT 0,
     ADD COLUMN live_bytes BIGINT NOT NULL DEFAULT 0;
   UPDATE workspaces w SET live_files = t.files, live_bytes = t.bytes
     FROM (SELECT workspace, COUNT(*) AS files, SUM(bytes) AS bytes FROM entries WHERE live GROUP BY workspace) t
     WHERE w.name = t.workspace;
   CREATE OR REPLACE FUNCTION warmsync_entries_totals() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'INSERT' THEN
       UPDATE workspaces w SET live_files = w.live_files + d.files, live_bytes = w.live_bytes + d.bytes
         FROM (SELECT workspace, COUNT(*) AS files, SUM(bytes) AS bytes FROM new_rows WHERE live
               GROUP BY workspace) d WHERE w.name = d.workspace;
     ELSIF TG_OP = 'DELETE' THEN
       UPDATE workspaces w SET live_files = w.live_files - d.files, live_bytes = w.live_bytes - d.bytes
         FROM (SELECT workspace, COUNT(*) AS files, SUM(bytes) AS bytes FROM old_rows WHERE live
               GROUP BY workspace) d WHERE w.name = d.workspace;
     ELSE
       UPDATE workspaces w SET live_files = w.live_files + d.files, live_bytes = w.live_bytes + d.bytes
         FROM (SELECT workspace, SUM(f) AS files, SUM(b) AS bytes FROM (
                 SELECT workspace, 1 AS f, bytes AS b FROM new_rows WHERE live
                 UNION ALL SELECT workspace, -1, -bytes FROM old_rows WHERE live) changed
               GROUP BY workspace) d
         WHERE w.name = d.workspace AND (d.files <> 0 OR d.bytes <> 0);
     END IF;
     RETURN NULL;
   END $$;
   CREATE TRIGGER entries_totals_insert AFTER INSERT ON entries REFERENCING NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION warmsync_entries_totals();
   CREATE TRIGGER entries_totals_update AFTER UPDATE ON entries
     REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION warmsync_entries_totals();
   CREATE TRIGGER entries_totals_delete AFTER DELETE ON entries REFERENCING OLD TABLE AS old_rows
     FOR EACH STATEMENT EXECUTE FUNCTION warmsync_entries_totals();`,
  // 8: dashboard sessions and one-time login codes, by the SHA-256 of their ids, shared by the
  // replicas so that a load balancer may send a browser's requests to any of them.
  `CREATE TABLE IF NOT EXISTS dashboard_sessions (
     id_hash TEXT PRIMARY KEY,
     principal JSONB NOT NULL,
     csrf TEXT NOT NULL,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);
   CREATE TABLE IF NOT EXISTS dashboard_login_codes (
     code_hash TEXT PRIMARY KEY,
     principal JSONB NOT NULL,
     expires_at BIGINT NOT NULL
   );`,
];

/**
 * Brings the schema up to date. Safe to call from several processes at once.
 *
 * @example
 * await migrate(pool);
 */
export async function migrate(pool: pg.Pool, now = new Date()): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS warmsync_migrations (
           version INTEGER PRIMARY KEY,
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )`,
      );
      const done = await client.query<{ version: number }>('SELECT version FROM warmsync_migrations');
      const applied = new Set(done.rows.map((r) => Number(r.version)));
      for (const [index, sql] of MIGRATIONS.entries()) {
        const version = index + 1;
        if (applied.has(version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO warmsync_migrations (version) VALUES ($1)', [version]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    }
  } finally {
    client.release();
  }
  await ensureAuditPartitions(pool, now);
}

/** The partitions `[name, from, to]` that must exist at `now`: this UTC month and the next ones. */
export function auditPartitions(now: Date, ahead = AUDIT_MONTHS_AHEAD): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (let i = 0; i <= ahead; i++) {
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
    const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
    const name = `audit_y${from.getUTCFullYear()}m${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
    out.push([name, from.toISOString(), to.toISOString()]);
  }
  return out;
}

/** Creates the audit partitions for this month and the next two, when missing. */
export async function ensureAuditPartitions(pool: pg.Pool, now = new Date()): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    for (const [name, from, to] of auditPartitions(now)) {
      // Names and bounds come from the date arithmetic above, never from input.
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF audit FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
