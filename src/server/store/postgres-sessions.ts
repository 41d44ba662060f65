/** Dashboard sessions and login codes in the PostgreSQL store (see sessions.ts), shared by replicas. */
import type { Principal } from '../../core/credential.ts';
import type { PgRunner } from './postgres-access.ts';
import type { SessionStore, StoredLoginCode, StoredSession } from './sessions.ts';

interface SessionRow {
  id_hash: string;
  principal: Principal;
  csrf: string;
  expires_at: string;
}

export class PostgresSessions implements SessionStore {
  constructor(private readonly run: PgRunner) {}

  async putSession(session: StoredSession, now: number, keep: number): Promise<void> {
    await this.prune('dashboard_sessions', 'id_hash', now, keep);
    await this.run(
      'INSERT INTO dashboard_sessions (id_hash, principal, csrf, expires_at) VALUES ($1, $2, $3, $4)',
      [session.idHash, JSON.stringify(session.principal), session.csrf, session.expiresAt],
    );
  }

  async session(idHash: string): Promise<StoredSession | undefined> {
    const rows = await this.run<SessionRow>('SELECT * FROM dashboard_sessions WHERE id_hash = $1', [idHash]);
    const row = rows.rows[0];
    if (!row) return undefined;
    return {
      idHash: row.id_hash,
      principal: row.principal,
      csrf: row.csrf,
      expiresAt: Number(row.expires_at),
    };
  }

  async endSession(idHash: string): Promise<void> {
    await this.run('DELETE FROM dashboard_sessions WHERE id_hash = $1', [idHash]);
  }

  async putLoginCode(codeHash: string, code: StoredLoginCode, now: number, keep: number): Promise<void> {
    await this.prune('dashboard_login_codes', 'code_hash', now, keep);
    await this.run(
      'INSERT INTO dashboard_login_codes (code_hash, principal, expires_at) VALUES ($1, $2, $3)',
      [codeHash, JSON.stringify(code.principal), code.expiresAt],
    );
  }

  async takeLoginCode(codeHash: string): Promise<StoredLoginCode | undefined> {
    // One statement: two replicas redeeming the same code cannot both get it.
    const rows = await this.run<{ principal: Principal; expires_at: string }>(
      'DELETE FROM dashboard_login_codes WHERE code_hash = $1 RETURNING principal, expires_at',
      [codeHash],
    );
    const row = rows.rows[0];
    return row ? { principal: row.principal, expiresAt: Number(row.expires_at) } : undefined;
  }

  /** Drops expired rows, then the soonest to expire until one more fits under `keep`. */
  private async prune(table: string, key: string, now: number, keep: number): Promise<void> {
    // Table and key names are the constants above, never input.
    await this.run(`DELETE FROM ${table} WHERE expires_at <= $1`, [now]);
    await this.run(
      `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} ORDER BY expires_at DESC OFFSET $1)`,
      [Math.max(0, keep - 1)],
    );
  }
}
