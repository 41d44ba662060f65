/**
 * Who may do what at the hub: the admin credential on every route but /healthz, only in the
 * Authorization header; browsers' cross-site and DNS-rebinding requests refused by Origin and
 * Host; and `warmsync serve` secure by default as a real process.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEnvelope } from '../../src/core/frames.ts';
import { cleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { freePort, waitHealthy } from '../helpers/processes.ts';

afterEach(cleanup);

const TOKEN = 's3cret-admin';
const HASH = 'a'.repeat(64);
const AGENT = '0a1b2c3d';

interface RouteCase {
  /** What a request with the right credential gets: any refusal but 401/403 proves it got through. */
  expected: number;
  /** What the workspace credentials get: read-write and read-only for `test`, and one for `other`. */
  workspace: { readWrite: number; readOnly: number; otherWorkspace: number };
  request: (url: string, headers: Record<string, string>) => Promise<number>;
  /** What a request without a valid credential gets, when not 401 (the dashboard's pages). */
  withoutCredential?: number;
}

/** Statuses for a route no workspace credential may use, and for one any of them may. */
const ADMIN_ONLY = { readWrite: 403, readOnly: 403, otherWorkspace: 403 };
const reads = (status: number) => ({ readWrite: status, readOnly: status, otherWorkspace: 403 });
const writes = (status: number) => ({ readWrite: status, readOnly: 403, otherWorkspace: 403 });
const scoped = (status: number) => ({ readWrite: status, readOnly: status, otherWorkspace: status });

const call =
  (method: string, path: string, body?: BodyInit, type?: string) =>
  async (url: string, headers: Record<string, string>) =>
    (
      await fetch(`${url}${path}`, {
        method,
        body,
        headers: { ...headers, ...(type ? { 'content-type': type } : {}) },
      })
    ).status;

/**
 * A dashboard request: the credential in `headers` (if any) is typed into the login form, and the
 * request then goes with the session cookie and CSRF token that login gave, or with none.
 */
const inSession =
  (method: string, path: string, body?: string, type?: string) =>
  async (url: string, headers: Record<string, string>) => {
    const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    const session: Record<string, string> = {};
    if (token) {
      const login = await fetch(`${url}/login`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ token }),
      });
      const cookie = login.headers.get('set-cookie')?.split(';')[0];
      if (cookie) {
        const page = await (await fetch(`${url}/`, { headers: { cookie } })).text();
        session.cookie = cookie;
        session['x-csrf-token'] = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? '';
      }
    }
    const reply = await fetch(`${url}${path}`, {
      method,
      body,
      redirect: 'manual',
      headers: { ...session, ...(type ? { 'content-type': type } : {}) },
    });
    await reply.body?.cancel();
    return reply.status;
  };

/** Opens the live socket with these headers: 101 when it opened, else the refusal's status. */
async function upgrade(url: string, headers: Record<string, string>): Promise<number> {
  const probe = await fetch(`${url}/v1/workspaces/test/live?agent=${AGENT}`, {
    headers: { ...headers, upgrade: 'websocket', connection: 'Upgrade' },
  });
  if (probe.status === 401 || probe.status === 403) return probe.status;
  const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/workspaces/test/live?agent=${AGENT}`, {
    headers,
  } as unknown as string[]);
  const opened = await new Promise<boolean>((resolve) => {
    socket.onopen = () => resolve(true);
    socket.onerror = () => resolve(false);
    socket.onclose = () => resolve(false);
  });
  socket.close();
  return opened ? 101 : probe.status;
}

/** Every route of the hub, by `METHOD path` as Hono lists it. A new route fails the test below until added. */
const ROUTES: Record<string, RouteCase> = {
  'GET /healthz': { expected: 200, workspace: scoped(200), request: call('GET', '/healthz') },
  'GET /metrics': { expected: 200, workspace: ADMIN_ONLY, request: call('GET', '/metrics') },
  // A workspace credential sees its own workspace only (tested below).
  'GET /v1/status': { expected: 200, workspace: scoped(200), request: call('GET', '/v1/status') },
  'POST /v1/credentials': {
    expected: 201,
    workspace: ADMIN_ONLY,
    request: call('POST', '/v1/credentials', JSON.stringify({ workspace: 'test' }), 'application/json'),
  },
  'GET /v1/credentials': { expected: 200, workspace: ADMIN_ONLY, request: call('GET', '/v1/credentials') },
  'POST /v1/gc': { expected: 200, workspace: ADMIN_ONLY, request: call('POST', '/v1/gc') },
  'DELETE /v1/credentials/:id': {
    expected: 404,
    workspace: ADMIN_ONLY,
    request: call('DELETE', '/v1/credentials/0123456789abcdef'),
  },
  'GET /v1/workspaces/:ws/changes': {
    expected: 200,
    workspace: reads(200),
    request: call('GET', '/v1/workspaces/test/changes?since=0'),
  },
  'POST /v1/workspaces/:ws/push': {
    expected: 200,
    workspace: writes(200),
    request: call(
      'POST',
      '/v1/workspaces/test/push',
      encodeEnvelope({ agent: AGENT, changes: [] }, []),
      'application/octet-stream',
    ),
  },
  // Scoped, not refused: a workspace credential sees only its own workspace's chunks (tested below).
  'POST /v1/chunks/missing': {
    expected: 200,
    workspace: scoped(200),
    request: call('POST', '/v1/chunks/missing', JSON.stringify({ hashes: [HASH] }), 'application/json'),
  },
  'POST /v1/chunks/fetch': {
    expected: 200,
    workspace: scoped(200),
    request: call('POST', '/v1/chunks/fetch', JSON.stringify({ want: [{ hash: HASH }] }), 'application/json'),
  },
  'PUT /v1/workspaces/:ws/snapshots/:lockHash': {
    expected: 400,
    workspace: writes(400),
    request: call('PUT', `/v1/workspaces/test/snapshots/${HASH}`, '{}', 'application/json'),
  },
  'GET /v1/workspaces/:ws/snapshots/:lockHash': {
    expected: 404,
    workspace: reads(404),
    request: call('GET', `/v1/workspaces/test/snapshots/${HASH}`),
  },
  'GET /v1/workspaces/:ws/live': { expected: 101, workspace: reads(101), request: upgrade },
  'GET /v1/workspaces/:ws/conflicts': {
    expected: 200,
    workspace: reads(200),
    request: call('GET', '/v1/workspaces/test/conflicts'),
  },
  'POST /v1/workspaces/:ws/resolve': {
    expected: 200,
    workspace: writes(200),
    request: call(
      'POST',
      '/v1/workspaces/test/resolve',
      JSON.stringify({ all: true, keep: 'both' }),
      'application/json',
    ),
  },
  'GET /v1/workspaces/:ws/history': {
    expected: 200,
    workspace: reads(200),
    request: call('GET', '/v1/workspaces/test/history?path=a.txt'),
  },
  // Nothing to restore in an empty workspace: 404 proves the request got through.
  'POST /v1/workspaces/:ws/restore': {
    expected: 404,
    workspace: writes(404),
    request: call(
      'POST',
      '/v1/workspaces/test/restore',
      JSON.stringify({ path: 'a.txt' }),
      'application/json',
    ),
  },
  // The dashboard: a session, made by logging in with the credential, stands for it.
  'GET /': { expected: 200, workspace: scoped(200), request: inSession('GET', '/'), withoutCredential: 302 },
  'GET /login': {
    expected: 200,
    workspace: scoped(200),
    request: inSession('GET', '/login'),
    withoutCredential: 200,
  },
  'POST /login': {
    expected: 303,
    workspace: scoped(303),
    // Typing the credential into the form is the request itself.
    request: async (url, headers) => {
      const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1] ?? '';
      const reply = await fetch(`${url}/login`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ token }),
      });
      return reply.status;
    },
  },
  'POST /logout': { expected: 303, workspace: scoped(303), request: inSession('POST', '/logout') },
  'GET /dashboard/snapshot': {
    expected: 200,
    workspace: scoped(200),
    request: inSession('GET', '/dashboard/snapshot'),
  },
  'GET /dashboard/events': {
    expected: 200,
    workspace: scoped(200),
    request: inSession('GET', '/dashboard/events'),
  },
  'POST /dashboard/resolve': {
    expected: 200,
    workspace: writes(200),
    request: inSession(
      'POST',
      '/dashboard/resolve',
      JSON.stringify({ workspace: 'test', path: 'a.txt', keep: 'both' }),
      'application/json',
    ),
  },
};

/** Makes a workspace credential with the admin one and returns its token. */
async function createCredential(url: string, body: { workspace: string; readOnly?: boolean }) {
  const reply = await fetch(`${url}/v1/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(reply.status).toBe(201);
  return ((await reply.json()) as { token: string }).token;
}

describe('the authorisation matrix', () => {
  it('lists every route of the hub', () => {
    const hub = startHub({ token: TOKEN });
    const routes = new Set(
      hub.sync.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`),
    );
    expect([...routes].sort()).toEqual(Object.keys(ROUTES).sort());
  });

  const credentials: [name: string, headers: Record<string, string>][] = [
    ['no credential', {}],
    ['a wrong credential', { authorization: 'Bearer wrong' }],
    ['the credential without its scheme', { authorization: TOKEN }],
    ['the right credential', { authorization: `Bearer ${TOKEN}` }],
  ];
  for (const [route, { expected, request, withoutCredential }] of Object.entries(ROUTES)) {
    for (const [name, headers] of credentials) {
      const open = route === 'GET /healthz' || name === 'the right credential';
      const status = open ? expected : (withoutCredential ?? 401);
      it(`${route} with ${name}: ${status}`, async () => {
        const hub = startHub({ token: TOKEN });
        expect(await request(hub.url, headers)).toBe(status);
      });
    }
  }

  const kinds = [
    ['readWrite', 'a read-write credential of the workspace', { workspace: 'test' }],
    ['readOnly', 'a read-only credential of the workspace', { workspace: 'test', readOnly: true }],
    ['otherWorkspace', "another workspace's credential", { workspace: 'other' }],
  ] as const;
  for (const [route, { workspace, request }] of Object.entries(ROUTES)) {
    for (const [kind, name, body] of kinds) {
      it(`${route} with ${name}: ${workspace[kind]}`, async () => {
        const hub = startHub({ token: TOKEN });
        const token = await createCredential(hub.url, body);
        expect(await request(hub.url, { authorization: `Bearer ${token}` })).toBe(workspace[kind]);
      });
    }
  }

  it('refuses the credential in the query string', async () => {
    const hub = startHub({ token: TOKEN });
    expect((await fetch(`${hub.url}/v1/status?token=${TOKEN}`)).status).toBe(401);
    expect(
      (
        await fetch(`${hub.url}/v1/workspaces/test/live?agent=${AGENT}&token=${TOKEN}`, {
          headers: { upgrade: 'websocket', connection: 'Upgrade' },
        })
      ).status,
    ).toBe(401);
  });
});

describe('browser requests', () => {
  const evil = { origin: 'https://evil.example' };

  it('refuses a WebSocket upgrade from a foreign origin, even with the credential', async () => {
    const hub = startHub({ token: TOKEN });
    expect(await upgrade(hub.url, { ...evil, authorization: `Bearer ${TOKEN}` })).toBe(403);
    expect(hub.sync.hub.count()).toBe(0);
  });

  it('refuses a no-cors POST from a foreign origin to a hub without a credential', async () => {
    const hub = startHub();
    // text/plain makes it a "simple" request: a browser sends it without asking first.
    const reply = await fetch(`${hub.url}/v1/workspaces/test/push`, {
      method: 'POST',
      headers: { ...evil, 'content-type': 'text/plain' },
      body: encodeEnvelope({ agent: AGENT, changes: [] }, []),
    });
    expect(reply.status).toBe(403);
    expect(((await reply.json()) as { message: string }).message).toContain('cross-origin');
  });

  it('refuses a request for a host name nobody allowed (DNS rebinding)', async () => {
    const hub = startHub();
    for (const [method, path] of [
      ['GET', '/v1/status'],
      ['POST', '/v1/chunks/missing'],
      ['GET', '/metrics'],
    ] as const) {
      const reply = await fetch(`${hub.url}${path}`, {
        method,
        headers: { host: 'evil.example', 'content-type': 'application/json' },
        body: method === 'POST' ? JSON.stringify({ hashes: [] }) : undefined,
      });
      expect(reply.status, `${method} ${path}`).toBe(403);
    }
    expect(await upgrade(hub.url, { host: 'evil.example' })).toBe(403);
    // Load balancers probe /healthz under any name.
    expect((await fetch(`${hub.url}/healthz`, { headers: { host: 'evil.example' } })).status).toBe(200);
  });

  it('refuses a dashboard POST from a foreign origin, even with a session and its CSRF token', async () => {
    const hub = startHub({ token: TOKEN });
    const login = await fetch(`${hub.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ token: TOKEN }),
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const page = await (await fetch(`${hub.url}/`, { headers: { cookie } })).text();
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? '';
    for (const path of ['/dashboard/resolve', '/logout', '/login']) {
      const reply = await fetch(`${hub.url}${path}`, {
        method: 'POST',
        headers: { ...evil, cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ workspace: 'test', path: 'a.txt', keep: 'both' }),
      });
      expect(reply.status, path).toBe(403);
    }
  });

  it('answers a host name given with --allow-host, and its own origin', async () => {
    const hub = startHub({ allowedHosts: ['hub.example.com'] });
    const headers = { host: 'hub.example.com:7420', origin: 'http://hub.example.com:7420' };
    expect((await fetch(`${hub.url}/v1/status`, { headers })).status).toBe(200);
  });
});

describe('warmsync serve', () => {
  const MAIN = join(import.meta.dir, '..', '..', 'src', 'cli', 'main.ts');
  /** `warmsync serve ARGS` with no credential in its environment; killed by cleanup(). */
  const serve = (args: string[]) => {
    const env = { ...process.env };
    delete env.WARMSYNC_TOKEN;
    const child = Bun.spawn([process.execPath, MAIN, 'serve', ...args], {
      env,
      stdout: 'pipe',
      stderr: 'pipe',
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      void (async () => {
        const decoder = new TextDecoder();
        for await (const part of stream as ReadableStream<Uint8Array>) output += decoder.decode(part);
      })();
    }
    tempDir(); // keeps cleanup() registered even when this test starts no hub
    return {
      child,
      output: () => output,
      async stop() {
        child.kill();
        await child.exited;
      },
    };
  };

  it('makes an admin credential readable by its owner only, says how to use it, and asks for it', async () => {
    const data = join(tempDir('warmsync-hubdata-'), 'data');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const hub = serve(['--data', data, '--port', String(port)]);
    try {
      await waitHealthy(url);
      const path = join(data, 'admin-token');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const token = (await Bun.file(path).text()).trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      await waitUntil(() => hub.output().includes(path), 'the line naming the credential file');
      expect(hub.output()).toMatch(/--token .*WARMSYNC_TOKEN/);
      expect((await fetch(`${url}/v1/status`)).status).toBe(401);
      const authorised = await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${token}` } });
      expect(authorised.status).toBe(200);
    } finally {
      await hub.stop();
    }
    // A restart keeps the credential, so agents keep working.
    const before = await Bun.file(join(data, 'admin-token')).text();
    const again = serve(['--data', data, '--port', String(port)]);
    try {
      await waitHealthy(url);
      expect(await Bun.file(join(data, 'admin-token')).text()).toBe(before);
      const reply = await fetch(`${url}/v1/status`, {
        headers: { authorization: `Bearer ${before.trim()}` },
      });
      expect(reply.status).toBe(200);
    } finally {
      await again.stop();
    }
  });

  it('refuses a non-loopback --host without a credential, in one line', async () => {
    const data = join(tempDir('warmsync-hubdata-'), 'data');
    const hub = serve(['--data', data, '--host', '0.0.0.0', '--port', '0', '--no-auth']);
    expect(await hub.child.exited).toBe(2);
    await waitUntil(() => hub.output().includes('refusing'), 'the refusal');
    const lines = hub.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('0.0.0.0');
    expect(lines[0]).toContain('loopback');
  });

  it('uses --token as the credential and makes no file', async () => {
    const data = join(tempDir('warmsync-hubdata-'), 'data');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const hub = serve(['--data', data, '--port', String(port), '--token', TOKEN]);
    try {
      await waitHealthy(url);
      expect(
        (await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      ).toBe(200);
      expect((await fetch(`${url}/v1/status`)).status).toBe(401);
      expect(await Bun.file(join(data, 'admin-token')).exists()).toBe(false);
    } finally {
      await hub.stop();
    }
  });

  it('prints a dashboard link whose one-time code logs a browser in once', async () => {
    const data = join(tempDir('warmsync-hubdata-'), 'data');
    const port = await freePort();
    const hub = serve(['--data', data, '--port', String(port), '--token', TOKEN]);
    try {
      await waitUntil(() => hub.output().includes('/login?code='), 'the dashboard link');
      const link = /(http:\/\/\S+\/login\?code=\S+)/.exec(hub.output())?.[1] ?? '';
      expect(link).toStartWith(`http://127.0.0.1:${port}/login?code=`);
      expect(hub.output()).not.toContain(TOKEN);
      const first = await fetch(link, { redirect: 'manual' });
      expect(first.status).toBe(303);
      expect(first.headers.get('set-cookie')).toContain('HttpOnly');
      expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);
    } finally {
      await hub.stop();
    }
  });
});
