/**
 * Workspace credentials: one workspace each, read-write or read-only, bound to the first agent
 * that uses them, stored hashed, revocable; a workspace's credential cannot read or even learn of
 * another workspace's chunks. Managed with `warmsync token` against a real hub process.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEnvelope } from '../../src/core/frames.ts';
import { fileChange } from '../helpers/file-change.ts';
import { cleanup, startAgent, startHub, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';
import { freePort, startCli, stopAllCli, waitHealthy } from '../helpers/processes.ts';

afterEach(async () => {
  await cleanup();
  await stopAllCli();
});

const ADMIN = 'admin-credential-for-tests';
const LAPTOP = '0a1b2c3d4e5f6071';
const OTHER = '8899aabbccddeeff';

async function credential(
  url: string,
  body: Record<string, unknown>,
): Promise<{ id: string; token: string }> {
  const reply = await fetch(`${url}/v1/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(reply.status).toBe(201);
  return (await reply.json()) as { id: string; token: string };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function push(
  url: string,
  workspace: string,
  token: string,
  agent: string,
  file: ReturnType<typeof fileChange>,
  withChunk = true,
) {
  return fetch(`${url}/v1/workspaces/${workspace}/push`, {
    method: 'POST',
    headers: bearer(token),
    body: encodeEnvelope({ agent, batch: 'edits', changes: [file.change] }, withChunk ? [file.frame] : []),
  });
}

describe('workspace credentials', () => {
  it("cannot read, or learn of, another workspace's chunks", async () => {
    const hub = startHub({ token: ADMIN });
    const secret = fileChange('secret.env', 'API_KEY=only-for-workspace-b', { [OTHER]: 1 });
    expect((await push(hub.url, 'b', ADMIN, OTHER, secret)).status).toBe(200);
    const { token } = await credential(hub.url, { workspace: 'a' });
    const hash = secret.change.content.chunks[0]![0];
    const post = (path: string, body: unknown) =>
      fetch(`${hub.url}${path}`, { method: 'POST', headers: bearer(token), body: JSON.stringify(body) });

    const missing = (await (await post('/v1/chunks/missing', { hashes: [hash] })).json()) as {
      missing: string[];
    };
    expect(missing.missing).toEqual([hash]);
    const fetched = await (await post('/v1/chunks/fetch', { want: [{ hash }] })).arrayBuffer();
    expect(new TextDecoder().decode(fetched)).not.toContain('only-for-workspace-b');
    // Naming the chunk in a push without sending it gets nothing either.
    const borrowed = fileChange('copy.env', 'API_KEY=only-for-workspace-b', { [LAPTOP]: 1 });
    const refused = (await (await push(hub.url, 'a', token, LAPTOP, borrowed, false)).json()) as {
      results: Array<{ status: string; code?: string }>;
    };
    expect(refused.results).toEqual([
      expect.objectContaining({ status: 'rejected', code: 'missing-chunks' }),
    ]);
    // Sending the bytes itself is fine: then the workspace holds them.
    expect((await push(hub.url, 'a', token, LAPTOP, borrowed)).status).toBe(200);
    const after = (await (await post('/v1/chunks/missing', { hashes: [hash] })).json()) as {
      missing: string[];
    };
    expect(after.missing).toEqual([]);
  });

  it('belongs to the first agent that uses it', async () => {
    const hub = startHub({ token: ADMIN });
    const { token } = await credential(hub.url, { workspace: 'a' });
    expect((await push(hub.url, 'a', token, LAPTOP, fileChange('x.txt', 'x', { [LAPTOP]: 1 }))).status).toBe(
      200,
    );
    const impostor = await push(hub.url, 'a', token, OTHER, fileChange('y.txt', 'y', { [OTHER]: 1 }));
    expect(impostor.status).toBe(403);
    expect(((await impostor.json()) as { message: string }).message).toContain(`belongs to agent ${LAPTOP}`);
  });

  it('cannot make the hub renew the epoch by reading past the head; a writable one still can', async () => {
    const hub = startHub({ token: ADMIN });
    const writer = (await credential(hub.url, { workspace: 'a' })).token;
    const viewer = (await credential(hub.url, { workspace: 'a', readOnly: true })).token;
    expect((await push(hub.url, 'a', writer, LAPTOP, fileChange('x.txt', 'x', { [LAPTOP]: 1 }))).status).toBe(
      200,
    );
    const changes = async (token: string, since: number) => {
      const reply = await fetch(`${hub.url}/v1/workspaces/a/changes?since=${since}`, {
        headers: bearer(token),
      });
      expect(reply.status).toBe(200);
      return (await reply.json()) as { head: number; epoch: string; entries: unknown[] };
    };
    const before = await changes(viewer, 0);
    expect(before.head).toBe(1);
    // A cursor past the head: the hub answers as it stands, and its agent reads again from zero.
    const past = await changes(viewer, 1000);
    expect(past).toMatchObject({ head: 1, epoch: before.epoch, entries: [] });
    expect((await changes(writer, 0)).epoch).toBe(before.epoch);
    // A credential that may write the workspace is believed: it could rewrite every path anyway.
    const renewed = await changes(writer, 1000);
    expect(renewed.epoch).not.toBe(before.epoch);
    expect((await changes(viewer, 0)).epoch).toBe(renewed.epoch);
  });

  it('shows its own workspace only in status', async () => {
    const hub = startHub({ token: ADMIN });
    await push(hub.url, 'a', ADMIN, LAPTOP, fileChange('x.txt', 'x', { [LAPTOP]: 1 }));
    await push(hub.url, 'b', ADMIN, LAPTOP, fileChange('y.txt', 'y', { [LAPTOP]: 2 }));
    const { token } = await credential(hub.url, { workspace: 'a', readOnly: true });
    const status = (await (await fetch(`${hub.url}/v1/status`, { headers: bearer(token) })).json()) as {
      workspaces: Array<{ name: string }>;
    };
    expect(status.workspaces.map((w) => w.name)).toEqual(['a']);
  });

  it('is stored as a hash and stops working when revoked', async () => {
    const data = tempDir('warmsync-hubdata-');
    const hub = startHub({ token: ADMIN, dataDir: data });
    const { id, token } = await credential(hub.url, { workspace: 'a' });
    const changes = () => fetch(`${hub.url}/v1/workspaces/a/changes?since=0`, { headers: bearer(token) });
    expect((await changes()).status).toBe(200);
    const secret = token.split('_')[2]!;
    expect(readFileSync(join(data, 'warmsync.db')).includes(Buffer.from(secret))).toBe(false);
    const revoked = await fetch(`${hub.url}/v1/credentials/${id}`, {
      method: 'DELETE',
      headers: bearer(ADMIN),
    });
    expect(revoked.status).toBe(200);
    expect((await changes()).status).toBe(401);
  });

  it('lets two agents sync with their own credentials, and a read-only one only receive', async () => {
    const hub = startHub({ token: ADMIN });
    const laptop = await startAgent(hub, {
      workspace: 'a',
      token: (await credential(hub.url, { workspace: 'a' })).token,
    });
    const box = await startAgent(hub, {
      workspace: 'a',
      token: (await credential(hub.url, { workspace: 'a' })).token,
    });
    writeFileSync(join(laptop.tree.root, 'from-laptop.txt'), 'laptop');
    writeFileSync(join(box.tree.root, 'from-box.txt'), 'box');
    await waitConverged([laptop.tree.root, box.tree.root], 'both ways');
    const viewerToken = (await credential(hub.url, { workspace: 'a', readOnly: true })).token;
    const viewer = await startAgent(hub, { workspace: 'a', token: viewerToken });
    await waitConverged([laptop.tree.root, viewer.tree.root], 'the read-only agent to receive');
    writeFileSync(join(viewer.tree.root, 'from-viewer.txt'), 'refused');
    await waitUntil(
      () => viewer.unsynced().some((u) => u.path === 'from-viewer.txt'),
      'the read-only agent to report its edit as refused',
    );
  }, 60_000);
});

describe('warmsync token', () => {
  it('creates, lists and revokes credentials on a running hub', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    startCli(['serve', '--data', tempDir('warmsync-hubdata-'), '--port', String(port), '--token', ADMIN]);
    await waitHealthy(url);
    const run = async (...args: string[]) => {
      const child = startCli(['token', ...args, '--server', url, '--token', ADMIN]);
      const output = await child.finished();
      return { code: await child.process.exited, output };
    };
    const created = await run('create', '--workspace', 'web', '--label', 'laptop');
    expect(created.code).toBe(0);
    const token = created.output.split('\n')[0]!.trim();
    expect(token).toMatch(/^wst_[0-9a-f]{16}_/);
    const id = token.split('_')[1]!;
    const listed = await run('list');
    expect(listed.output).toContain(id);
    expect(listed.output).toContain('laptop');
    // The secret is everything after the id (base64url, so it may hold '_' itself).
    expect(listed.output).not.toContain(token.slice(`wst_${id}_`.length));
    expect((await fetch(`${url}/v1/workspaces/web/changes?since=0`, { headers: bearer(token) })).status).toBe(
      200,
    );
    expect((await run('revoke', id)).code).toBe(0);
    await waitUntil(
      async () =>
        (await fetch(`${url}/v1/workspaces/web/changes?since=0`, { headers: bearer(token) })).status === 401,
      'the revoked credential to stop working',
    );
    const noWorkspace = await run('create');
    expect(noWorkspace.code).toBe(2);
    expect(noWorkspace.output).toContain('--workspace');
  }, 60_000);
});
