import { describe, expect, it } from 'bun:test';
import type { Principal } from '../../src/core/credential.ts';
import { csrfMatches, SessionBook } from '../../src/server/dashboard/sessions.ts';

const ADMIN: Principal = { kind: 'admin' };
const READER: Principal = { kind: 'workspace', id: '0123456789abcdef', workspace: 'w', readOnly: true };

/** A book on a clock the test moves. */
function book(options: { sessionTtlMs?: number; codeTtlMs?: number } = {}) {
  let now = 1_000_000;
  const sessions = new SessionBook({ now: () => now, ...options });
  return { sessions, advance: (ms: number) => (now += ms) };
}

describe('SessionBook sessions', () => {
  it('maps a random id to the principal, and the id is not the CSRF token', () => {
    const { sessions } = book();
    const session = sessions.create(READER);
    expect(session.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.csrf).not.toBe(session.id);
    expect(sessions.get(session.id)?.principal).toEqual(READER);
  });

  it('gives each session its own id and CSRF token', () => {
    const { sessions } = book();
    const a = sessions.create(ADMIN);
    const b = sessions.create(ADMIN);
    expect(a.id).not.toBe(b.id);
    expect(a.csrf).not.toBe(b.csrf);
  });

  it('knows no session for an unknown or missing id', () => {
    const { sessions } = book();
    expect(sessions.get('nope')).toBeUndefined();
    expect(sessions.get(undefined)).toBeUndefined();
  });

  it('ends a session at its expiry, however it is used meanwhile', () => {
    const { sessions, advance } = book({ sessionTtlMs: 1000 });
    const session = sessions.create(ADMIN);
    advance(999);
    expect(sessions.get(session.id)).toBeDefined();
    advance(1);
    expect(sessions.get(session.id)).toBeUndefined();
  });

  it('ends a session on logout, and the sessions a predicate picks', () => {
    const { sessions } = book();
    const a = sessions.create(ADMIN);
    const b = sessions.create(READER);
    sessions.end(a.id);
    expect(sessions.get(a.id)).toBeUndefined();
    sessions.endWhere((s) => s.principal.kind === 'workspace');
    expect(sessions.get(b.id)).toBeUndefined();
  });

  it('keeps at most 1000 sessions, dropping the oldest', () => {
    const { sessions } = book();
    const first = sessions.create(ADMIN);
    let last = first;
    for (let i = 0; i < 1000; i++) last = sessions.create(ADMIN);
    expect(sessions.get(first.id)).toBeUndefined();
    expect(sessions.get(last.id)).toBeDefined();
  });
});

describe('SessionBook login codes', () => {
  it('exchanges a code for a session of its principal once', () => {
    const { sessions } = book();
    const code = sessions.issueCode(ADMIN);
    const session = sessions.redeemCode(code);
    expect(session?.principal).toEqual(ADMIN);
    expect(sessions.get(session?.id)).toBeDefined();
    expect(sessions.redeemCode(code)).toBeUndefined();
  });

  it('refuses an expired code, and spends it all the same', () => {
    const { sessions, advance } = book({ codeTtlMs: 1000 });
    const code = sessions.issueCode(ADMIN);
    advance(1000);
    expect(sessions.redeemCode(code)).toBeUndefined();
    advance(-1000);
    expect(sessions.redeemCode(code)).toBeUndefined();
  });

  it('refuses a code it never issued', () => {
    const { sessions } = book();
    sessions.issueCode(ADMIN);
    expect(sessions.redeemCode('guess')).toBeUndefined();
    expect(sessions.redeemCode('')).toBeUndefined();
  });

  it('issues a different code each time', () => {
    const { sessions } = book();
    const codes = new Set(Array.from({ length: 50 }, () => sessions.issueCode(ADMIN)));
    expect(codes.size).toBe(50);
  });
});

describe('csrfMatches', () => {
  const table: Array<[string, string | undefined, boolean]> = [
    ['the session token', 'TOKEN', true],
    ['another token', 'OTHER', false],
    ['an empty token', '', false],
    ['no token', undefined, false],
  ];
  for (const [name, presented, expected] of table)
    it(`${expected ? 'accepts' : 'refuses'} ${name}`, () => {
      const session = new SessionBook({ random: () => 'TOKEN' }).create(ADMIN);
      expect(csrfMatches(session, presented)).toBe(expected);
    });
});
