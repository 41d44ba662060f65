/**
 * Who may use the dashboard's routes, on a real hub over loopback: the session cookie is the only
 * way in, it acts as the credential that opened it and no more, it is never a credential for the
 * agent API, and every POST passes the Origin check and the session's CSRF token.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { SESSION_COOKIE } from '../../src/server/dashboard/routes.ts';
import { cleanup, startHub } from '../helpers/harness.ts';

afterEach(cleanup);

const TOKEN = 'routes-admin-credential';

async function createCredential(url: string, body: { workspace: string; readOnly?: boolean }) {
  const reply = await fetch(`${url}/v1/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(reply.status).toBe(201);
  return (await reply.json()) as { token: string; id: string };
}

/** Logs in with a credential through the form; the cookie header and the page's CSRF token. */
async function login(url: string, token: string) {
  const reply = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ token }),
  });
  expect(reply.status).toBe(303);
  const setCookie = reply.headers.get('set-cookie') ?? '';
  expect(setCookie).toContain('HttpOnly');
  expect(setCookie).toContain('SameSite=Strict');
  expect(setCookie).not.toContain(token);
  const cookie = setCookie.split(';')[0] ?? '';
  const page = await (await fetch(`${url}/`, { headers: { cookie } })).text();
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? '';
  return { cookie, csrf };
}

const resolve = (
  url: string,
  headers: Record<string, string>,
  body = { workspace: 'test', path: 'a.txt', keep: 'both' },
) =>
  fetch(`${url}/dashboard/resolve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('without a session', () => {
  it('sends the page to the login form, and answers 401 to the stream and the JSON', async () => {
    const hub = startHub({ token: TOKEN });
    const page = await fetch(`${hub.url}/`, { redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    for (const path of ['/dashboard/events', '/dashboard/snapshot'])
      expect((await fetch(`${hub.url}${path}`)).status, path).toBe(401);
    expect((await resolve(hub.url, {})).status).toBe(401);
    expect((await fetch(`${hub.url}/logout`, { method: 'POST' })).status).toBe(401);
  });

  it('ignores a session cookie it never issued', async () => {
    const hub = startHub({ token: TOKEN });
    const reply = await fetch(`${hub.url}/dashboard/snapshot`, {
      headers: { cookie: `${SESSION_COOKIE}=forged` },
    });
    expect(reply.status).toBe(401);
  });

  it('refuses a wrong credential at the login form, without a cookie', async () => {
    const hub = startHub({ token: TOKEN });
    const reply = await fetch(`${hub.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: 'wrong' }),
    });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('set-cookie')).toBeNull();
  });
});

describe('a session', () => {
  it('is not a credential for the agent API', async () => {
    const hub = startHub({ token: TOKEN });
    const { cookie } = await login(hub.url, TOKEN);
    for (const path of ['/v1/status', '/metrics', '/v1/workspaces/test/changes?since=0'])
      expect((await fetch(`${hub.url}${path}`, { headers: { cookie } })).status, path).toBe(401);
  });

  it('of a read-only credential sees its workspace but cannot resolve', async () => {
    const hub = startHub({ token: TOKEN });
    const reader = await createCredential(hub.url, { workspace: 'test', readOnly: true });
    const { cookie, csrf } = await login(hub.url, reader.token);
    const snapshot = await fetch(`${hub.url}/dashboard/snapshot`, { headers: { cookie } });
    expect(snapshot.status).toBe(200);
    expect(((await snapshot.json()) as { traffic?: unknown }).traffic).toBeUndefined();
    const reply = await resolve(hub.url, { cookie, 'x-csrf-token': csrf });
    expect(reply.status).toBe(403);
    expect(((await reply.json()) as { message: string }).message).toContain('read-only');
  });

  it('of a workspace credential cannot resolve in another workspace', async () => {
    const hub = startHub({ token: TOKEN });
    const writer = await createCredential(hub.url, { workspace: 'other' });
    const { cookie, csrf } = await login(hub.url, writer.token);
    expect((await resolve(hub.url, { cookie, 'x-csrf-token': csrf })).status).toBe(403);
  });

  it('of the admin resolves (nothing to settle here: 200 with the path refused)', async () => {
    const hub = startHub({ token: TOKEN });
    const { cookie, csrf } = await login(hub.url, TOKEN);
    const reply = await resolve(hub.url, { cookie, 'x-csrf-token': csrf });
    expect(reply.status).toBe(200);
  });

  it('needs the CSRF token of its own session on a POST', async () => {
    const hub = startHub({ token: TOKEN });
    const first = await login(hub.url, TOKEN);
    const second = await login(hub.url, TOKEN);
    expect((await resolve(hub.url, { cookie: first.cookie })).status).toBe(403);
    expect((await resolve(hub.url, { cookie: first.cookie, 'x-csrf-token': second.csrf })).status).toBe(403);
    expect((await resolve(hub.url, { cookie: first.cookie, 'x-csrf-token': first.csrf })).status).toBe(200);
  });

  it('refuses a POST from another origin, even with the cookie and the token', async () => {
    const hub = startHub({ token: TOKEN });
    const { cookie, csrf } = await login(hub.url, TOKEN);
    const foreign = { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' };
    expect((await resolve(hub.url, foreign)).status).toBe(403);
    const loginFromElsewhere = await fetch(`${hub.url}/login`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      body: new URLSearchParams({ token: TOKEN }),
    });
    expect(loginFromElsewhere.status).toBe(403);
    const rebound = await fetch(`${hub.url}/`, { headers: { cookie, host: 'evil.example' } });
    expect(rebound.status).toBe(403);
  });

  it('ends at logout', async () => {
    const hub = startHub({ token: TOKEN });
    const { cookie, csrf } = await login(hub.url, TOKEN);
    const out = await fetch(`${hub.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie },
      body: new URLSearchParams({ csrf }),
    });
    expect(out.status).toBe(303);
    expect((await fetch(`${hub.url}/dashboard/snapshot`, { headers: { cookie } })).status).toBe(401);
  });

  it('ends when its credential is revoked', async () => {
    const hub = startHub({ token: TOKEN });
    const writer = await createCredential(hub.url, { workspace: 'test' });
    const { cookie } = await login(hub.url, writer.token);
    expect((await fetch(`${hub.url}/dashboard/snapshot`, { headers: { cookie } })).status).toBe(200);
    const revoked = await fetch(`${hub.url}/v1/credentials/${writer.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(revoked.status).toBeLessThan(300);
    expect((await fetch(`${hub.url}/dashboard/snapshot`, { headers: { cookie } })).status).toBe(401);
  });
});

describe('the pages', () => {
  it('carry a nonce-only Content-Security-Policy and no external asset', async () => {
    const hub = startHub({ token: TOKEN });
    const { cookie } = await login(hub.url, TOKEN);
    for (const path of ['/login', '/']) {
      const reply = await fetch(`${hub.url}${path}`, { headers: { cookie } });
      const policy = reply.headers.get('content-security-policy') ?? '';
      const nonce = /script-src 'nonce-([^']+)'/.exec(policy)?.[1];
      expect(nonce, path).toBeDefined();
      expect(policy).toContain("default-src 'none'");
      expect(policy).not.toContain('unsafe');
      const html = await reply.text();
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
      for (const tag of html.match(/<(script|style)[^>]*>/g) ?? []) expect(tag).toContain(`nonce="${nonce}"`);
      expect(html).not.toMatch(/ style="| on[a-z]+="/);
    }
  });

  it('exchange the one-time code for a session once', async () => {
    const hub = startHub({ token: TOKEN });
    const code = await hub.sync.dashboard.issueLoginCode();
    const first = await fetch(`${hub.url}/login?code=${code}`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect((await fetch(`${hub.url}/dashboard/snapshot`, { headers: { cookie } })).status).toBe(200);
    const again = await fetch(`${hub.url}/login?code=${code}`, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(again.headers.get('set-cookie')).toBeNull();
  });
});
