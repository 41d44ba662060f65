/**
 * History, conflict records and expiry in the PostgreSQL store (see sqlite-history.ts for the
 * same rules in the embedded store). The write side runs inside the caller's transaction.
 */
import type pg from 'pg';
import type { EntryContent, ManifestEntry } from '../../core/entry.ts';
import type { PathVersion } from '../../core/history.ts';
import type { ConflictRecord } from '../../core/settle.ts';
import type { VersionVector } from '../../core/vector.ts';
import { type ConflictCopyMade, type ExpiryReport, type ExpiryRequest, expiredSummary } from './store.ts';

type Queryable = pg.Pool | pg.PoolClient;

/** Keeps, in history, the files and links that `entries` are about to replace (same transaction). */
export async function keepReplaced(
  client: pg.PoolClient,
  workspace: string,
  entries: readonly ManifestEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await client.query(
    `INSERT INTO history (workspace, path, seq, content, vector, agent, branch, at, replaced_seq, replaced_at)
     SELECT e.workspace, e.path, e.seq, e.content, e.vector, e.agent, e.branch, COALESCE(e.at, now()), u.seq, now()
     FROM entries e JOIN unnest($2::text[], $3::int8[]) AS u(path, seq) ON e.path = u.path
     WHERE e.workspace = $1 AND e.live AND e.seq < u.seq AND e.content->>'kind' IN ('file', 'symlink')
     ON CONFLICT DO NOTHING`,
    [workspace, entries.map((e) => e.path), entries.map((e) => e.seq)],
  );
}

export async function recordConflicts(
  client: pg.PoolClient,
  workspace: string,
  copies: readonly ConflictCopyMade[],
): Promise<void> {
  if (copies.length === 0) return;
  await client.query(
    `INSERT INTO conflicts (workspace, copy_path, path, seq, at, kept_agent, copy_agent)
     SELECT $1::text, u.copy_path, u.path, u.seq, now(), u.kept, u.copy
     FROM unnest($2::text[], $3::text[], $4::int8[], $5::text[], $6::text[]) AS u(copy_path, path, seq, kept, copy)
     ON CONFLICT (workspace, copy_path) DO UPDATE SET path = excluded.path, seq = excluded.seq,
       at = excluded.at, kept_agent = excluded.kept_agent, copy_agent = excluded.copy_agent,
       settled_seq = NULL, settled_how = NULL`,
    [
      workspace,
      copies.map((c) => c.copyPath),
      copies.map((c) => c.path),
      copies.map((c) => c.seq),
      copies.map((c) => c.keptAgent),
      copies.map((c) => c.copyAgent),
    ],
  );
}

export async function settleConflicts(
  client: pg.PoolClient,
  workspace: string,
  settle: ReadonlyArray<{ copyPath: string; how: string }>,
  seq: number,
): Promise<void> {
  if (settle.length === 0) return;
  await client.query(
    `UPDATE conflicts c SET settled_seq = $2, settled_how = u.how
     FROM unnest($3::text[], $4::text[]) AS u(copy_path, how)
     WHERE c.workspace = $1 AND c.copy_path = u.copy_path AND c.settled_seq IS NULL`,
    [workspace, seq, settle.map((s) => s.copyPath), settle.map((s) => s.how)],
  );
}

export async function openConflicts(db: Queryable, workspace: string): Promise<ConflictRecord[]> {
  const rows = await db.query<{
    path: string;
    copy_path: string;
    seq: string;
    at: Date;
    kept_agent: string;
    copy_agent: string;
  }>(
    `SELECT c.path, c.copy_path, c.seq, c.at, c.kept_agent, c.copy_agent
     FROM conflicts c JOIN entries e ON e.workspace = c.workspace AND e.path = c.copy_path AND e.live
     WHERE c.workspace = $1 AND c.settled_seq IS NULL ORDER BY c.seq, c.copy_path`,
    [workspace],
  );
  return rows.rows.map((r) => ({
    path: r.path,
    copyPath: r.copy_path,
    seq: Number(r.seq),
    at: r.at.toISOString(),
    keptAgent: r.kept_agent,
    copyAgent: r.copy_agent,
  }));
}

export async function pathHistory(db: Queryable, workspace: string, path: string): Promise<PathVersion[]> {
  const rows = await db.query<{
    path: string;
    seq: string;
    content: EntryContent;
    vector: VersionVector;
    agent: string;
    at: Date | null;
    replaced_seq: string | null;
    replaced_at: Date | null;
  }>(
    `SELECT path, seq, content, vector, agent, at, replaced_seq, replaced_at FROM history
       WHERE workspace = $1 AND path = $2
     UNION ALL
     SELECT path, seq, content, vector, agent, at, NULL, NULL FROM entries
       WHERE workspace = $1 AND path = $2
     ORDER BY seq DESC`,
    [workspace, path],
  );
  return rows.rows.map((r) => {
    const version: PathVersion = {
      path: r.path,
      seq: Number(r.seq),
      content: r.content,
      vector: r.vector,
      agent: r.agent,
      at: r.at?.toISOString() ?? '',
    };
    if (r.replaced_seq !== null) version.replacedSeq = Number(r.replaced_seq);
    if (r.replaced_at !== null) version.replacedAt = r.replaced_at.toISOString();
    return version;
  });
}

export async function historyChunks(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ hash: string }>(
    `SELECT DISTINCT c->>0 AS hash FROM history h, jsonb_array_elements(h.content->'chunks') c
     WHERE h.content->>'kind' = 'file'`,
  );
  return rows.rows.map((r) => r.hash);
}

/** See expireHistory in sqlite-history.ts; each workspace's tombstones go under its row lock. */
export async function expireHistory(
  transaction: <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>,
  request: ExpiryRequest,
): Promise<ExpiryReport> {
  return transaction(async (client) => {
    const versions = (await client.query('DELETE FROM history WHERE replaced_at < $1', [request.cutoff]))
      .rowCount;
    let tombstones = 0;
    const workspaces = await client.query<{
      name: string;
      head: string;
      expired_vector: VersionVector | null;
    }>('SELECT name, head, expired_vector FROM workspaces ORDER BY name FOR UPDATE');
    for (const ws of workspaces.rows) {
      const limit = request.tombstoneLimit(ws.name, Number(ws.head));
      const dropped = await client.query<{ seq: string; vector: VersionVector }>(
        'DELETE FROM entries WHERE workspace = $1 AND NOT live AND seq <= $2 AND at < $3 RETURNING seq, vector',
        [ws.name, limit, request.cutoff],
      );
      if (dropped.rows.length === 0) continue;
      tombstones += dropped.rows.length;
      const { floor, vector } = expiredSummary(
        ws.expired_vector ?? {},
        dropped.rows.map((r) => ({ seq: Number(r.seq), vector: r.vector })),
      );
      await client.query(
        'UPDATE workspaces SET floor = GREATEST(floor, $2), expired_vector = $3 WHERE name = $1',
        [ws.name, floor, JSON.stringify(vector)],
      );
    }
    return { versions: versions ?? 0, tombstones };
  });
}
