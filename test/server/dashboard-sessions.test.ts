/**
 * Dashboard sessions and login codes, on both stores (the embedded SQLite one and PostgreSQL on a
 * throwaway server): the same book over either, and two books over one PostgreSQL database
 * standing for two replicas behind a load balancer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import type { Principal } from '../../src/core/credential.ts';
import { csrfMatches, SessionBook } from '../../src/server/dashboard/sessions.ts';
import { PostgresStore } from '../../src/server/store/postgres.ts';
import { SqliteStore } from '../../src/server/store/sqlite.ts';
import type { Store } from '../../src/server/store/store.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { type PostgresService, startPostgres, stopAllServices } from '../helpers/services.ts';

const ADMIN: Principal = { kind: 'admin' };
const READER: Principal = { kind: 'workspace', id: '0123456789abcdef', workspace: 'w', readOnly: true };

let postgres: PostgresService;
const open: Store[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const store of open) await store.close().catch(() => {});
  await stopAllServices();
  await cleanup();
});

async function openPostgres(url: string): Promise<Store> {
  const store = new PostgresStore({ url });
  await store.start();
  open.push(store);
  return store;
}

const makers: Array<[string, () => Promise<Store>]> = [
  [
    'sqlite',
    async () => {
      const store = new SqliteStore(join(tempDir(), 'warmsync.db'));
      open.push(store);
      return store;
    },
  ],
  ['postgres', async () => openPostgres(await postgres.freshDatabase())],
];

describe.each(makers)('%s store: SessionBook', (_name, make) => {
  /** A book on a clock the test moves. */
  async function book(options: { sessionTtlMs?: number; codeTtlMs?: number } = {}) {
    let now = 1_000_000;
    const sessions = new SessionBook((await make()).sessions, { now: () => now, ...options });
    return { sessions, advance: (ms: number) => (now += ms) };
  }

  it('maps a random id to the principal, and the id is not the CSRF token', async () => {
    const { sessions } = await book();
    const session = await sessions.create(READER);
    expect(session.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.csrf).not.toBe(session.id);
    expect((await sessions.get(session.id))?.principal).toEqual(READER);
  });

  it('gives each session its own id and CSRF token', async () => {
    const { sessions } = await book();
    const a = await sessions.create(ADMIN);
    const b = await sessions.create(ADMIN);
    expect(a.id).not.toBe(b.id);
    expect(a.csrf).not.toBe(b.csrf);
  });

  it('knows no session for an unknown or missing id', async () => {
    const { sessions } = await book();
    expect(await sessions.get('nope')).toBeUndefined();
    expect(await sessions.get(undefined)).toBeUndefined();
  });

  it('ends a session at its expiry, however it is used meanwhile', async () => {
    const { sessions, advance } = await book({ sessionTtlMs: 1000 });
    const session = await sessions.create(ADMIN);
    advance(999);
    expect(await sessions.get(session.id)).toBeDefined();
    advance(1);
    expect(await sessions.get(session.id)).toBeUndefined();
    advance(-1);
    // Dropped when it was found expired: turning the clock back does not revive it.
    expect(await sessions.get(session.id)).toBeUndefined();
  });

  it('ends a session on logout', async () => {
    const { sessions } = await book();
    const a = await sessions.create(ADMIN);
    const b = await sessions.create(READER);
    await sessions.end(a.id);
    expect(await sessions.get(a.id)).toBeUndefined();
    expect(await sessions.get(b.id)).toBeDefined();
  });

  it('keeps at most 1000 sessions, dropping the soonest to expire', async () => {
    const { sessions, advance } = await book();
    const first = await sessions.create(ADMIN);
    let last = first;
    for (let i = 0; i < 1000; i++) {
      advance(1);
      last = await sessions.create(ADMIN);
    }
    expect(await sessions.get(first.id)).toBeUndefined();
    expect(await sessions.get(last.id)).toBeDefined();
  });

  it('exchanges a code for a session of its principal once', async () => {
    const { sessions } = await book();
    const code = await sessions.issueCode(ADMIN);
    const session = await sessions.redeemCode(code);
    expect(session?.principal).toEqual(ADMIN);
    expect(await sessions.get(session?.id)).toBeDefined();
    expect(await sessions.redeemCode(code)).toBeUndefined();
  });

  it('refuses an expired code, and spends it all the same', async () => {
    const { sessions, advance } = await book({ codeTtlMs: 1000 });
    const code = await sessions.issueCode(ADMIN);
    advance(1000);
    expect(await sessions.redeemCode(code)).toBeUndefined();
    advance(-1000);
    expect(await sessions.redeemCode(code)).toBeUndefined();
  });

  it('refuses a code it never issued', async () => {
    const { sessions } = await book();
    await sessions.issueCode(ADMIN);
    expect(await sessions.redeemCode('guess')).toBeUndefined();
    expect(await sessions.redeemCode('')).toBeUndefined();
  });

  it('issues a different code each time', async () => {
    const { sessions } = await book();
    const codes = new Set(await Promise.all(Array.from({ length: 50 }, () => sessions.issueCode(ADMIN))));
    expect(codes.size).toBe(50);
  });
});

describe('SessionBook on a SQLite file', () => {
  it('keeps neither session ids nor codes in the database, only their digests', async () => {
    const file = join(tempDir(), 'warmsync.db');
    const store = new SqliteStore(file);
    open.push(store);
    const sessions = new SessionBook(store.sessions);
    const session = await sessions.create(ADMIN);
    const code = await sessions.issueCode(ADMIN);
    const bytes = await Bun.file(file).text();
    const wal = await Bun.file(`${file}-wal`)
      .text()
      .catch(() => '');
    for (const secret of [session.id, code]) {
      expect(bytes.includes(secret)).toBe(false);
      expect(wal.includes(secret)).toBe(false);
    }
  });

  it('keeps sessions over a restart of the hub', async () => {
    const file = join(tempDir(), 'warmsync.db');
    const first = new SqliteStore(file);
    const session = await new SessionBook(first.sessions).create(READER);
    await first.close();
    const again = new SqliteStore(file);
    open.push(again);
    expect((await new SessionBook(again.sessions).get(session.id))?.principal).toEqual(READER);
  });
});

describe('two replicas on one PostgreSQL database', () => {
  it('share sessions and codes: a code redeems once, on either, and a logout on one ends it on both', async () => {
    const url = await postgres.freshDatabase();
    const a = new SessionBook((await openPostgres(url)).sessions);
    const b = new SessionBook((await openPostgres(url)).sessions);
    const code = await a.issueCode(ADMIN);
    // Both replicas race to redeem the same code: exactly one gets a session.
    const redeemed = await Promise.all([a.redeemCode(code), b.redeemCode(code)]);
    expect(redeemed.filter((s) => s !== undefined)).toHaveLength(1);
    const session = await b.create(READER);
    expect((await a.get(session.id))?.csrf).toBe(session.csrf);
    await a.end(session.id);
    expect(await b.get(session.id)).toBeUndefined();
  });
});

describe('csrfMatches', () => {
  const table: Array<[string, string | undefined, boolean]> = [
    ['the session token', 'TOKEN', true],
    ['another token', 'OTHER', false],
    ['an empty token', '', false],
    ['no token', undefined, false],
  ];
  const session = { id: 'id', principal: ADMIN, csrf: 'TOKEN', expiresAt: 0 };
  for (const [name, presented, expected] of table)
    it(`${expected ? 'accepts' : 'refuses'} ${name}`, () => {
      expect(csrfMatches(session, presented)).toBe(expected);
    });
});
