/**
 * The dashboard behind a load balancer: two real hub replicas on one PostgreSQL database, and a
 * browser whose requests land on either. A login on one is a login on both, the login link one
 * replica prints opens a session on the other, and a logout or a revoked credential on one ends
 * the session on both.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { startScaleServer } from '../../src/server/start-scale.ts';
import { cleanup } from '../helpers/harness.ts';
import { type PostgresService, startPostgres, stopAllServices } from '../helpers/services.ts';
import { sharedChunks } from './cluster.ts';

const TOKEN = 'replicas-admin-credential';
let postgres: PostgresService;
const replicas: Array<Awaited<ReturnType<typeof startScaleServer>>> = [];

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterEach(async () => {
  for (const replica of replicas.splice(0)) await replica.stop().catch(() => {});
  await cleanup();
});
afterAll(stopAllServices);

async function twoReplicas() {
  const chunks = sharedChunks();
  for (let i = 0; i < 2; i++)
    replicas.push(await startScaleServer({ postgres: postgres.url, chunks, port: 0, token: TOKEN }));
  return replicas.map((r) => r.url) as [string, string];
}

/** The session cookie a login answer sets, and the CSRF token of the page it leads to. */
async function sessionOf(reply: Response, pageUrl: string) {
  expect(reply.status).toBe(303);
  const cookie = (reply.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const page = await (await fetch(`${pageUrl}/`, { headers: { cookie } })).text();
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? '';
  expect(csrf).not.toBe('');
  return { cookie, csrf };
}

const snapshotStatus = async (url: string, cookie: string) =>
  (await fetch(`${url}/dashboard/snapshot`, { headers: { cookie } })).status;

describe('dashboard sessions across replicas', () => {
  it('a login on one replica is a login on the other, until a logout on either', async () => {
    const [a, b] = await twoReplicas();
    const login = await fetch(`${a}/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ token: TOKEN }),
    });
    const { cookie, csrf } = await sessionOf(login, b);
    expect(await snapshotStatus(a, cookie)).toBe(200);
    expect(await snapshotStatus(b, cookie)).toBe(200);
    const out = await fetch(`${b}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie },
      body: new URLSearchParams({ csrf }),
    });
    expect(out.status).toBe(303);
    expect(await snapshotStatus(a, cookie)).toBe(401);
    expect(await snapshotStatus(b, cookie)).toBe(401);
  });

  it('the login link one replica prints opens a session on the other, once', async () => {
    const [, b] = await twoReplicas();
    const code = await replicas[0]!.sync.dashboard.issueLoginCode();
    const first = await fetch(`${b}/login?code=${code}`, { redirect: 'manual' });
    const { cookie } = await sessionOf(first, b);
    expect(await snapshotStatus(replicas[0]!.url, cookie)).toBe(200);
    const again = await fetch(`${replicas[0]!.url}/login?code=${code}`, { redirect: 'manual' });
    expect(again.status).toBe(401);
  });

  it('a credential revoked through one replica ends its session on the other', async () => {
    const [a, b] = await twoReplicas();
    const made = await fetch(`${a}/v1/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workspace: 'shared' }),
    });
    const writer = (await made.json()) as { token: string; id: string };
    const login = await fetch(`${b}/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ token: writer.token }),
    });
    const { cookie } = await sessionOf(login, a);
    expect(await snapshotStatus(a, cookie)).toBe(200);
    const revoked = await fetch(`${a}/v1/credentials/${writer.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(revoked.status).toBeLessThan(300);
    expect(await snapshotStatus(b, cookie)).toBe(401);
  });
});
