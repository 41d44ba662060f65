/**
 * Dashboard sessions and one-time login codes, in the hub's memory.
 *
 * Invariants this module keeps, which the routes rely on:
 * - A session id is 256 random bits, the key of a server-side record that holds the principal;
 *   the cookie carries only the id, never a credential, so a stolen cookie dies with its expiry
 *   or a logout and cannot be replayed against the agent API (which reads `Authorization` only).
 * - Each session has its own CSRF token, unrelated to its id, that state-changing requests must
 *   echo; a page on another site can make the browser send the cookie but cannot read the token.
 * - A login code is redeemed at most once and only before its expiry; redeeming it removes it,
 *   whether or not it had expired.
 * - Both tables are bounded: past the bound the oldest entry goes, so a flood of logins costs
 *   memory up to the bound and no more.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../core/credential.ts';

/** How long a session lasts from login (not extended by use: a lost laptop's session ends). */
export const SESSION_TTL_MS = 12 * 3600_000;
/** How long the login code `serve` prints stays valid. */
export const LOGIN_CODE_TTL_MS = 10 * 60_000;
const MAX_SESSIONS = 1000;
const MAX_CODES = 100;

export interface Session {
  id: string;
  principal: Principal;
  /** Echoed by every state-changing request of the page (header `x-csrf-token` or form field `csrf`). */
  csrf: string;
  expiresAt: number;
}

export interface SessionBookOptions {
  now?: () => number;
  /** Random bytes, base64url; tests may fix them. */
  random?: (bytes: number) => string;
  sessionTtlMs?: number;
  codeTtlMs?: number;
}

/**
 * @example
 * const book = new SessionBook();
 * const code = book.issueCode({ kind: 'admin' });   // printed by `serve` in the login URL
 * const session = book.redeemCode(code);            // once; undefined the second time
 * book.get(session!.id)?.principal;                 // { kind: 'admin' }
 */
export class SessionBook {
  private readonly sessions = new Map<string, Session>();
  private readonly codes = new Map<string, { principal: Principal; expiresAt: number }>();
  private readonly now: () => number;
  private readonly random: (bytes: number) => string;
  private readonly sessionTtlMs: number;
  private readonly codeTtlMs: number;

  constructor(options: SessionBookOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? ((n) => randomBytes(n).toString('base64url'));
    this.sessionTtlMs = options.sessionTtlMs ?? SESSION_TTL_MS;
    this.codeTtlMs = options.codeTtlMs ?? LOGIN_CODE_TTL_MS;
  }

  /** Starts a session for a principal whose credential was just checked. */
  create(principal: Principal): Session {
    const session: Session = {
      id: this.random(32),
      principal,
      csrf: this.random(32),
      expiresAt: this.now() + this.sessionTtlMs,
    };
    bounded(this.sessions, MAX_SESSIONS);
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of this id, or undefined (unknown, ended or expired; an expired one is dropped). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (this.now() >= session.expiresAt) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends every session a predicate picks (a revoked credential's). */
  endWhere(pick: (session: Session) => boolean): void {
    for (const session of [...this.sessions.values()]) if (pick(session)) this.sessions.delete(session.id);
  }

  /** A single-use code that `redeemCode` exchanges for a session of `principal` before it expires. */
  issueCode(principal: Principal): string {
    const code = this.random(24);
    bounded(this.codes, MAX_CODES);
    this.codes.set(code, { principal, expiresAt: this.now() + this.codeTtlMs });
    return code;
  }

  /** A new session for a valid code, which is then spent; undefined for an unknown, spent or expired one. */
  redeemCode(code: string): Session | undefined {
    const issued = this.codes.get(code);
    if (!issued) return undefined;
    this.codes.delete(code);
    if (this.now() >= issued.expiresAt) return undefined;
    return this.create(issued.principal);
  }
}

/** True when `presented` is the session's CSRF token (compared in constant time). */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented ?? ''), digest(session.csrf)) && presented !== undefined;
}

/** Drops the oldest entries (Maps keep insertion order) until one more fits under `max`. */
function bounded<V>(map: Map<string, V>, max: number): void {
  while (map.size >= max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) return;
    map.delete(oldest);
  }
}
