/** Dashboard sessions and login codes in the embedded SQLite store (see sessions.ts). */
import type { Database } from 'bun:sqlite';
import type { Principal } from '../../core/credential.ts';
import type { SessionStore, StoredLoginCode, StoredSession } from './sessions.ts';

export const SESSIONS_SCHEMA = `
CREATE TABLE IF NOT EXISTS dashboard_sessions (
  id_hash TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
  csrf TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dashboard_login_codes (
  code_hash TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

interface SessionRow {
  id_hash: string;
  principal: string;
  csrf: string;
  expires_at: number;
}

export class SqliteSessions implements SessionStore {
  constructor(private readonly db: Database) {}

  async putSession(session: StoredSession, now: number, keep: number): Promise<void> {
    this.db.transaction(() => {
      prune(this.db, 'dashboard_sessions', 'id_hash', now, keep);
      this.db
        .query('INSERT INTO dashboard_sessions (id_hash, principal, csrf, expires_at) VALUES (?, ?, ?, ?)')
        .run(session.idHash, JSON.stringify(session.principal), session.csrf, session.expiresAt);
    })();
  }

  async session(idHash: string): Promise<StoredSession | undefined> {
    const row = this.db
      .query('SELECT * FROM dashboard_sessions WHERE id_hash = ?')
      .get(idHash) as SessionRow | null;
    if (!row) return undefined;
    return {
      idHash: row.id_hash,
      // Written by putSession from a checked principal; the database is inside the trust boundary.
      principal: JSON.parse(row.principal) as Principal,
      csrf: row.csrf,
      expiresAt: row.expires_at,
    };
  }

  async endSession(idHash: string): Promise<void> {
    this.db.query('DELETE FROM dashboard_sessions WHERE id_hash = ?').run(idHash);
  }

  async putLoginCode(codeHash: string, code: StoredLoginCode, now: number, keep: number): Promise<void> {
    this.db.transaction(() => {
      prune(this.db, 'dashboard_login_codes', 'code_hash', now, keep);
      this.db
        .query('INSERT INTO dashboard_login_codes (code_hash, principal, expires_at) VALUES (?, ?, ?)')
        .run(codeHash, JSON.stringify(code.principal), code.expiresAt);
    })();
  }

  async takeLoginCode(codeHash: string): Promise<StoredLoginCode | undefined> {
    const row = this.db
      .query('DELETE FROM dashboard_login_codes WHERE code_hash = ? RETURNING principal, expires_at')
      .get(codeHash) as { principal: string; expires_at: number } | null;
    return row ? { principal: JSON.parse(row.principal) as Principal, expiresAt: row.expires_at } : undefined;
  }
}

/** Drops expired rows, then the soonest to expire until one more fits under `keep`. */
function prune(db: Database, table: string, key: string, now: number, keep: number): void {
  // Table and key names are the constants above, never input.
  db.query(`DELETE FROM ${table} WHERE expires_at <= ?`).run(now);
  db.query(
    `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} ORDER BY expires_at DESC LIMIT -1 OFFSET ?)`,
  ).run(Math.max(0, keep - 1));
}
