/** Credentials and chunk references in the PostgreSQL store (see credentials.ts). */
import type pg from 'pg';
import type { AccessStore, NewCredential, StoredCredential } from './credentials.ts';

interface CredentialRow {
  id: string;
  workspace: string;
  read_only: boolean;
  secret_hash: string;
  label: string;
  agent: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

/** Runs `query` once the store is started and maps connection failures (PostgresStore.guard). */
export type PgRunner = <T extends pg.QueryResultRow>(
  text: string,
  values: unknown[],
) => Promise<pg.QueryResult<T>>;

export class PostgresAccess implements AccessStore {
  constructor(private readonly run: PgRunner) {}

  async createCredential(c: NewCredential): Promise<void> {
    await this.run(
      'INSERT INTO credentials (id, workspace, read_only, secret_hash, label) VALUES ($1, $2, $3, $4, $5)',
      [c.id, c.workspace, c.readOnly, c.secretHash, c.label],
    );
  }

  async credential(id: string): Promise<StoredCredential | undefined> {
    const rows = await this.run<CredentialRow>('SELECT * FROM credentials WHERE id = $1', [id]);
    return rows.rows[0] ? toCredential(rows.rows[0]) : undefined;
  }

  async credentials(): Promise<StoredCredential[]> {
    const rows = await this.run<CredentialRow>('SELECT * FROM credentials ORDER BY created_at, id', []);
    return rows.rows.map(toCredential);
  }

  async revokeCredential(id: string): Promise<boolean> {
    const result = await this.run(
      'UPDATE credentials SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL',
      [id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async bindCredentialAgent(id: string, agent: string): Promise<string | undefined> {
    await this.run('UPDATE credentials SET agent = $2 WHERE id = $1 AND agent IS NULL', [id, agent]);
    const rows = await this.run<{ agent: string | null }>('SELECT agent FROM credentials WHERE id = $1', [
      id,
    ]);
    return rows.rows[0]?.agent ?? undefined;
  }

  async referenceChunks(workspace: string, hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    await this.run(
      'INSERT INTO chunk_refs (workspace, hash) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING',
      [workspace, [...hashes]],
    );
  }

  async referencedChunks(workspace: string, hashes: readonly string[]): Promise<Set<string>> {
    if (hashes.length === 0) return new Set();
    const rows = await this.run<{ hash: string }>(
      'SELECT hash FROM chunk_refs WHERE workspace = $1 AND hash = ANY($2::text[])',
      [workspace, [...hashes]],
    );
    return new Set(rows.rows.map((r) => r.hash));
  }
}

/** Inserts chunk references inside a commit's transaction. */
export async function insertChunkRefs(client: pg.PoolClient, workspace: string, hashes: readonly string[]) {
  if (hashes.length === 0) return;
  await client.query(
    'INSERT INTO chunk_refs (workspace, hash) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING',
    [workspace, [...hashes]],
  );
}

function toCredential(row: CredentialRow): StoredCredential {
  return {
    id: row.id,
    workspace: row.workspace,
    readOnly: row.read_only,
    secretHash: row.secret_hash,
    label: row.label,
    agent: row.agent ?? undefined,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString(),
  };
}
