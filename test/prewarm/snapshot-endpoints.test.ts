/** The hub's snapshot routes: what they store and what they refuse, before any content is read. */
import { afterAll, describe, expect, it } from 'bun:test';
import { cleanup, startHub } from '../helpers/harness.ts';

afterAll(cleanup);

const lockHash = 'a'.repeat(64);
const integrity = `sha512-${'A'.repeat(86)}==`;
const manifest = { format: 2, lockHash, platform: 'linux-x64-glibc', packages: [] as unknown[] };
const pkg = (path: string, extra: Record<string, unknown> = {}) => ({
  path,
  integrity,
  size: 0,
  chunks: [],
  ...extra,
});

const put = (url: string, body: string, token?: string) =>
  fetch(`${url}/v1/workspaces/web/snapshots/${lockHash}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

describe('snapshot endpoints', () => {
  it('store a valid manifest and return it', async () => {
    const hub = startHub();
    const valid = { ...manifest, packages: [pkg('node_modules/a'), pkg('node_modules/a/node_modules/@s/b')] };
    expect((await put(hub.url, JSON.stringify(valid))).status).toBe(200);
    const reply = await fetch(`${hub.url}/v1/workspaces/web/snapshots/${lockHash}`);
    expect(await reply.json()).toEqual(valid);
  });

  it('answer 404 for a lockfile without a snapshot', async () => {
    const hub = startHub();
    expect((await fetch(`${hub.url}/v1/workspaces/web/snapshots/${'b'.repeat(64)}`)).status).toBe(404);
  });

  it('answer 401 without the token: only a credential holder uploads', async () => {
    const hub = startHub({ token: 'secret' });
    expect((await put(hub.url, JSON.stringify(manifest))).status).toBe(401);
    expect((await put(hub.url, JSON.stringify(manifest), 'wrong')).status).toBe(401);
    expect((await put(hub.url, JSON.stringify(manifest), 'secret')).status).toBe(200);
  });

  it('answer 400 for a manifest naming chunks the hub lacks', async () => {
    const hub = startHub();
    const packages = [pkg('node_modules/a', { size: 3, chunks: [['c'.repeat(64), 3]] })];
    const reply = await put(hub.url, JSON.stringify({ ...manifest, packages }));
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { code: string }).code).toBe('missing-chunks');
  });

  it.each([
    ['a package outside node_modules', [pkg('x')]],
    ['a path escaping the tree', [pkg('node_modules/../x')]],
    ['a package listed twice', [pkg('node_modules/a'), pkg('node_modules/a')]],
    ['chunk sizes not adding up', [pkg('node_modules/a', { size: 5 })]],
    ['an integrity that is not sha512', [pkg('node_modules/a', { integrity: 'sha1-abc' })]],
    ['the old format of file entries', [{ path: 'a', kind: 'dir', mode: 0o755 }]],
  ])('answer 400 for a manifest with %s', async (_what, packages) => {
    const hub = startHub();
    expect((await put(hub.url, JSON.stringify({ ...manifest, packages }))).status).toBe(400);
  });

  it('answer 413 for a manifest over the body limit', async () => {
    const hub = startHub({ maxBodyBytes: 1024 });
    const packages = Array.from({ length: 100 }, (_, i) => pkg(`node_modules/p${i}`));
    expect((await put(hub.url, JSON.stringify({ ...manifest, packages }))).status).toBe(413);
  });
});
