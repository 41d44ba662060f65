/**
 * Bad input gets a clear error and damages nothing: hostile paths, malformed messages, oversized
 * bodies, missing tokens, damaged chunks. After each, the hub still serves good requests.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEnvelope, makeFrame } from '../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';
import { fileChange as typedFileChange } from '../helpers/file-change.ts';
import { cleanup, startAgent, startHub, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

const push = (
  url: string,
  body: Uint8Array<ArrayBuffer> | string,
  headers: Record<string, string> = {},
  workspace = 'test',
) => fetch(`${url}/v1/workspaces/${workspace}/push`, { method: 'POST', body, headers });

function fileChange(path: string, text: string) {
  const bytes = new TextEncoder().encode(text);
  const hash = sha256Hex(bytes);
  return {
    change: {
      path,
      vector: { a9e17001: 1 },
      content: {
        kind: 'file',
        hash: fileHashFromChunks([hash]),
        size: bytes.length,
        exec: false,
        chunks: [[hash, bytes.length]],
      },
    },
    frame: makeFrame(hash, bytes),
  };
}

async function goodPushWorks(url: string, workspace = 'test'): Promise<void> {
  const { change, frame } = fileChange(`ok-${Math.random().toString(36).slice(2)}.txt`, 'fine');
  const reply = await push(
    url,
    encodeEnvelope({ agent: 'a9e17001', changes: [change] }, [frame]),
    {},
    workspace,
  );
  expect(reply.status).toBe(200);
  const body = (await reply.json()) as { results: Array<{ status: string }> };
  expect(body.results[0]!.status).toBe('accepted');
}

describe('hostile paths', () => {
  const hostile: Array<[string, string]> = [
    ['../escape.txt', 'dot-segment'],
    ['a/../../escape.txt', 'dot-segment'],
    ['/etc/passwd', 'absolute'],
    ['a\\..\\b', 'backslash'],
    ['C:evil', 'drive-letter'],
    ['a\u0000b', 'nul'],
    ['a//b', 'empty-segment'],
    ['.git/hooks/pre-commit', 'git-dir'],
    ['sub/.git/config', 'git-dir'],
    [`${'d/'.repeat(128)}x`, 'too-deep'],
  ];
  for (const [path, code] of hostile) {
    it(`refuses ${JSON.stringify(path)} (${code}) and stores nothing`, async () => {
      const hub = startHub();
      const { change, frame } = fileChange('placeholder', 'x');
      const reply = await push(
        hub.url,
        encodeEnvelope({ agent: 'a9e17001', changes: [{ ...change, path }] }, [frame]),
      );
      if (reply.status === 400) {
        // The schema already refuses it: the reason names the field.
        expect(((await reply.json()) as { message: string }).message).toContain('changes.0.path');
      } else {
        const body = (await reply.json()) as { results: Array<{ status: string; code: string }> };
        expect(body.results[0]).toMatchObject({ status: 'rejected', code: `invalid-path:${code}` });
      }
      expect((await hub.store.changesSince('test', 0, 10)).entries).toEqual([]);
      await goodPushWorks(hub.url);
    });
  }
});

describe('malformed requests', () => {
  it('answers 400 with a reason for a body that is not an envelope', async () => {
    const hub = startHub();
    const reply = await push(hub.url, new Uint8Array([0, 0, 0, 200, 1, 2]));
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { message: string }).message).toMatch(/malformed message/);
    await goodPushWorks(hub.url);
  });

  it('answers 400 for a header that is JSON but not a push', async () => {
    const hub = startHub();
    const reply = await push(
      hub.url,
      encodeEnvelope({ agent: 'a9e17001', changes: [{ path: 'x', content: { kind: 'sock' } }] }, []),
    );
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { message: string }).message).toContain('changes.0');
    await goodPushWorks(hub.url);
  });

  it('answers 400 for a bad workspace name and for a negative cursor', async () => {
    const hub = startHub();
    expect(
      (await push(hub.url, encodeEnvelope({ agent: 'a9e17001', changes: [] }, []), {}, '..%2f..')).status,
    ).toBe(400);
    expect((await fetch(`${hub.url}/v1/workspaces/test/changes?since=-4`)).status).toBe(400);
    expect((await fetch(`${hub.url}/v1/chunks/fetch`, { method: 'POST', body: '{not json' })).status).toBe(
      400,
    );
  });

  it('answers 413 for an oversized body and keeps serving', async () => {
    const hub = startHub({ maxBodyBytes: 64 * 1024 });
    const reply = await push(hub.url, new Uint8Array(200 * 1024));
    expect(reply.status).toBe(413);
    expect(((await reply.json()) as { error: string }).error).toBe('too-large');
    await goodPushWorks(hub.url);
  });

  it('asks again for a damaged chunk alone, and stores no file whose chunk is bad', async () => {
    const hub = startHub();
    const good = fileChange('good.txt', 'good content');
    const bad = fileChange('bad.txt', 'bad content');
    const damaged = { ...bad.frame, payload: new TextEncoder().encode('tampered!!!') };
    const reply = await push(
      hub.url,
      encodeEnvelope({ agent: 'a9e17001', changes: [good.change, bad.change] }, [good.frame, damaged]),
    );
    const body = (await reply.json()) as {
      results: Array<{ path: string; status: string; code?: string }>;
      missingChunks: string[];
    };
    expect(body.missingChunks).toEqual([bad.frame.hash]);
    expect(body.results.find((r) => r.path === 'good.txt')?.status).toBe('accepted');
    expect(body.results.find((r) => r.path === 'bad.txt')).toMatchObject({
      status: 'rejected',
      code: 'missing-chunks',
    });
    expect(await hub.store.entry('test', 'bad.txt')).toBeUndefined();
  });

  it('refuses a file whose hash does not match its chunk list', async () => {
    const hub = startHub();
    const { change, frame } = fileChange('lying.txt', 'content');
    const lying = { ...change, content: { ...change.content, hash: 'f'.repeat(64) } };
    const body = (await (
      await push(hub.url, encodeEnvelope({ agent: 'a9e17001', changes: [lying] }, [frame]))
    ).json()) as {
      results: Array<{ status: string; code: string }>;
    };
    expect(body.results[0]).toMatchObject({ status: 'rejected', code: 'bad-content' });
  });
});

describe('authentication', () => {
  it('answers 401 without the token, on HTTP and on the live socket', async () => {
    const hub = startHub({ token: 's3cret' });
    expect((await fetch(`${hub.url}/v1/status`)).status).toBe(401);
    expect((await fetch(`${hub.url}/v1/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    expect(
      (await fetch(`${hub.url}/v1/status`, { headers: { authorization: 'Bearer s3cret' } })).status,
    ).toBe(200);
    const live = await fetch(`${hub.url}/v1/workspaces/test/live?agent=abc00abc`, {
      headers: { upgrade: 'websocket' },
    });
    expect(live.status).toBe(401);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
  });
});

describe('the live socket', () => {
  it('answers a malformed message with an error and keeps the connection and the workspace working', async () => {
    const hub = startHub();
    const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/v1/workspaces/test/live?agent=abc00abc`);
    const messages: string[] = [];
    socket.onmessage = (e) => messages.push(typeof e.data === 'string' ? e.data : 'binary');
    await new Promise((resolve) => {
      socket.onopen = resolve;
    });
    socket.send('{"type":"cursor","cursor":-1}');
    socket.send('not json at all');
    const deadline = Date.now() + 5000;
    while (messages.filter((m) => m.includes('"error"')).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(messages.filter((m) => m.includes('malformed message'))).toHaveLength(2);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    await goodPushWorks(hub.url);
    while (!messages.includes('binary') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(messages).toContain('binary');
    socket.close();
  });
});

describe('an entry no agent can read', () => {
  it('is reported on its own, and the rest of the workspace still syncs', async () => {
    const hub = startHub();
    const pushFile = async (path: string, text: string) => {
      const { change, frame } = fileChange(path, text);
      const reply = await push(hub.url, encodeEnvelope({ agent: 'a9e17001', changes: [change] }, [frame]));
      expect(reply.status).toBe(200);
    };
    await pushFile('before.txt', 'first');
    // Straight into the store: a counter past the largest exact JSON number, as a damaged
    // database or a hub with other bounds could hold.
    await hub.store.commit({
      workspace: 'test',
      agent: 'a9e17001',
      changes: [typedFileChange('unreadable.txt', 'x', { '~hub': 2 ** 53 }).change],
    });
    // And one whose path itself is bad: the report names its sequence number, not the path.
    await hub.store.commit({
      workspace: 'test',
      agent: 'a9e17001',
      changes: [typedFileChange('bad\nname', 'x', { a9e17001: 1 }).change],
    });
    await pushFile('after.txt', 'last');
    const agent = await startAgent(hub);
    await waitUntil(
      () => existsSync(join(agent.tree.root, 'after.txt')),
      'the entry after the unreadable one',
    );
    expect(readFileSync(join(agent.tree.root, 'before.txt'), 'utf8')).toBe('first');
    expect(existsSync(join(agent.tree.root, 'unreadable.txt'))).toBe(false);
    expect(agent.problems()).toContainEqual(
      expect.objectContaining({ path: 'unreadable.txt', code: 'unreadable-entry' }),
    );
    expect(agent.problems()).toContainEqual(
      expect.objectContaining({ path: '(entry 3)', code: 'unreadable-entry' }),
    );
    // Later changes keep arriving, live.
    await pushFile('later.txt', 'still syncing');
    await waitUntil(() => existsSync(join(agent.tree.root, 'later.txt')), 'a change made afterwards');
  });
});
