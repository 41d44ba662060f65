/** Credentials and chunk references in the embedded SQLite store (see credentials.ts). */
import type { Database } from 'bun:sqlite';
import type { AccessStore, NewCredential, StoredCredential } from './credentials.ts';

export const ACCESS_SCHEMA = `
CREATE TABLE IF NOT EXISTS credentials (
  id TEXT PRIMARY KEY,
  workspace TEXT NOT NULL,
  read_only INTEGER NOT NULL,
  secret_hash TEXT NOT NULL,
  label TEXT NOT NULL,
  agent TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS chunk_refs (
  workspace TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (workspace, hash)
) WITHOUT ROWID;
`;

/** Fills chunk_refs from the entries of a database made before it existed (runs once). */
export function backfillChunkRefs(db: Database): void {
  const done = db.query("SELECT value FROM access_meta WHERE key = 'chunk_refs_filled'").get();
  if (done) return;
  db.transaction(() => {
    db.exec(`INSERT OR IGNORE INTO chunk_refs (workspace, hash)
      SELECT e.workspace, json_extract(c.value, '$[0]') FROM entries e, json_each(e.content, '$.chunks') c
      WHERE json_extract(e.content, '$.kind') = 'file'`);
    db.query("INSERT INTO access_meta (key, value) VALUES ('chunk_refs_filled', '1')").run();
  })();
}

interface CredentialRow {
  id: string;
  workspace: string;
  read_only: number;
  secret_hash: string;
  label: string;
  agent: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** Hashes per statement: under SQLite's bound-parameter limit. */
const HASHES_PER_QUERY = 500;

export class SqliteAccess implements AccessStore {
  constructor(private readonly db: Database) {}

  async createCredential(c: NewCredential): Promise<void> {
    this.db
      .query('INSERT INTO credentials (id, workspace, read_only, secret_hash, label) VALUES (?, ?, ?, ?, ?)')
      .run(c.id, c.workspace, c.readOnly ? 1 : 0, c.secretHash, c.label);
  }

  async credential(id: string): Promise<StoredCredential | undefined> {
    const row = this.db.query('SELECT * FROM credentials WHERE id = ?').get(id) as CredentialRow | null;
    return row ? toCredential(row) : undefined;
  }

  async credentials(): Promise<StoredCredential[]> {
    return (this.db.query('SELECT * FROM credentials ORDER BY created_at, id').all() as CredentialRow[]).map(
      toCredential,
    );
  }

  async revokeCredential(id: string): Promise<boolean> {
    const result = this.db
      .query(
        "UPDATE credentials SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND revoked_at IS NULL",
      )
      .run(id);
    return result.changes > 0;
  }

  async bindCredentialAgent(id: string, agent: string): Promise<string | undefined> {
    this.db.query('UPDATE credentials SET agent = ? WHERE id = ? AND agent IS NULL').run(agent, id);
    const row = this.db.query('SELECT agent FROM credentials WHERE id = ?').get(id) as {
      agent: string | null;
    } | null;
    return row?.agent ?? undefined;
  }

  async referenceChunks(workspace: string, hashes: readonly string[]): Promise<void> {
    if (hashes.length > 0) this.db.transaction(() => insertChunkRefs(this.db, workspace, hashes))();
  }

  async referencedChunks(workspace: string, hashes: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < hashes.length; i += HASHES_PER_QUERY) {
      const part = hashes.slice(i, i + HASHES_PER_QUERY);
      const rows = this.db
        .query(
          `SELECT hash FROM chunk_refs WHERE workspace = ? AND hash IN (${part.map(() => '?').join(',')})`,
        )
        .all(workspace, ...part) as Array<{ hash: string }>;
      for (const row of rows) found.add(row.hash);
    }
    return found;
  }
}

/** Inserts chunk references; callers inside a transaction (a commit) get them in it. */
export function insertChunkRefs(db: Database, workspace: string, hashes: readonly string[]): void {
  const insert = db.query('INSERT OR IGNORE INTO chunk_refs (workspace, hash) VALUES (?, ?)');
  for (const hash of hashes) insert.run(workspace, hash);
}

function toCredential(row: CredentialRow): StoredCredential {
  return {
    id: row.id,
    workspace: row.workspace,
    readOnly: row.read_only === 1,
    secretHash: row.secret_hash,
    label: row.label,
    agent: row.agent ?? undefined,
    createdAt: row.created_at,
    revokedAt: row.revoked_at ?? undefined,
  };
}
