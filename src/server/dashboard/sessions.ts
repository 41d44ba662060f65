/**
 * Dashboard sessions and one-time login codes, kept in the hub's store (see store/sessions.ts),
 * so that every replica behind a load balancer knows them and a restart logs nobody out.
 *
 * Invariants this module keeps, which the routes rely on:
 * - A session id is 256 random bits, the key of a server-side record that holds the principal;
 *   the cookie carries only the id, never a credential, so a stolen cookie dies with its expiry
 *   or a logout and cannot be replayed against the agent API (which reads `Authorization` only).
 *   The store keeps the id's SHA-256, not the id.
 * - Each session has its own CSRF token, unrelated to its id, that state-changing requests must
 *   echo; a page on another site can make the browser send the cookie but cannot read the token.
 * - A login code is redeemed at most once, on whichever replica, and only before its expiry;
 *   redeeming it removes it, whether or not it had expired.
 * - Both tables are bounded: past the bound the soonest to expire go, so a flood of logins costs
 *   rows up to the bound and no more.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../core/credential.ts';
import type { SessionStore } from '../store/sessions.ts';

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
 * const book = new SessionBook(store.sessions);
 * const code = await book.issueCode({ kind: 'admin' });   // printed by `serve` in the login URL
 * const session = await book.redeemCode(code);            // once; undefined the second time
 * (await book.get(session!.id))?.principal;               // { kind: 'admin' }
 */
export class SessionBook {
  private readonly now: () => number;
  private readonly random: (bytes: number) => string;
  private readonly sessionTtlMs: number;
  private readonly codeTtlMs: number;

  constructor(
    private readonly store: SessionStore,
    options: SessionBookOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? ((n) => randomBytes(n).toString('base64url'));
    this.sessionTtlMs = options.sessionTtlMs ?? SESSION_TTL_MS;
    this.codeTtlMs = options.codeTtlMs ?? LOGIN_CODE_TTL_MS;
  }

  /** Starts a session for a principal whose credential was just checked. */
  async create(principal: Principal): Promise<Session> {
    const session: Session = {
      id: this.random(32),
      principal,
      csrf: this.random(32),
      expiresAt: this.now() + this.sessionTtlMs,
    };
    const { id: _id, ...kept } = session;
    await this.store.putSession({ ...kept, idHash: digestHex(session.id) }, this.now(), MAX_SESSIONS);
    return session;
  }

  /** The live session of this id, or undefined (unknown, ended or expired; an expired one is dropped). */
  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id) return undefined;
    const idHash = digestHex(id);
    const kept = await this.store.session(idHash);
    if (!kept) return undefined;
    if (this.now() >= kept.expiresAt) {
      await this.store.endSession(idHash);
      return undefined;
    }
    return { id, principal: kept.principal, csrf: kept.csrf, expiresAt: kept.expiresAt };
  }

  async end(id: string): Promise<void> {
    await this.store.endSession(digestHex(id));
  }

  /** A single-use code that `redeemCode` exchanges for a session of `principal` before it expires. */
  async issueCode(principal: Principal): Promise<string> {
    const code = this.random(24);
    await this.store.putLoginCode(
      digestHex(code),
      { principal, expiresAt: this.now() + this.codeTtlMs },
      this.now(),
      MAX_CODES,
    );
    return code;
  }

  /** A new session for a valid code, which is then spent; undefined for an unknown, spent or expired one. */
  async redeemCode(code: string): Promise<Session | undefined> {
    if (!code) return undefined;
    const issued = await this.store.takeLoginCode(digestHex(code));
    if (!issued || this.now() >= issued.expiresAt) return undefined;
    return this.create(issued.principal);
  }
}

function digestHex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** True when `presented` is the session's CSRF token (compared in constant time). */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented ?? ''), digest(session.csrf)) && presented !== undefined;
}
