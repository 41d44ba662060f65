/**
 * Dashboard sessions and one-time login codes, as every store keeps them: in the hub's database,
 * so that any replica behind a load balancer knows a session another replica opened, and a
 * restart logs nobody out. Ids and codes are stored as their SHA-256, never themselves, so a copy
 * of the database opens no session.
 */
import type { Principal } from '../../core/credential.ts';

export interface StoredSession {
  /** Hex SHA-256 of the session id the cookie carries. */
  idHash: string;
  principal: Principal;
  csrf: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export interface StoredLoginCode {
  principal: Principal;
  expiresAt: number;
}

export interface SessionStore {
  /**
   * Keeps a new session, dropping the expired ones, and the oldest ones past `keep`: a flood of
   * logins costs rows up to the bound and no more.
   */
  putSession(session: StoredSession, now: number, keep: number): Promise<void>;
  /** The session with this id hash, expired or not (the caller checks the expiry). */
  session(idHash: string): Promise<StoredSession | undefined>;
  endSession(idHash: string): Promise<void>;
  /** Keeps a login code (its hash), with the same pruning as putSession. */
  putLoginCode(codeHash: string, code: StoredLoginCode, now: number, keep: number): Promise<void>;
  /** Removes the code and returns what it was issued for; undefined when no such code is kept. */
  takeLoginCode(codeHash: string): Promise<StoredLoginCode | undefined>;
}
