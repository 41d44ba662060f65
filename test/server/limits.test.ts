/**
 * The hub's bounds on one request (src/core/limits.ts): each answers 413 or 429 with a message
 * naming the limit, stores nothing of the refused request, and leaves the hub serving others.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { compress } from '../../src/core/compress.ts';
import { type ChunkFrame, decodeEnvelope, encodeEnvelope, makeFrame } from '../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';
import { HUB_LIMITS, MAX_CHUNK_BYTES, MAX_HEADER_BYTES, MAX_MISSING_HASHES } from '../../src/core/limits.ts';
import { MAX_PATH_DEPTH } from '../../src/core/paths.ts';
import { cleanup, startAgent, startHub, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

const AGENT = '0a1b2c3d';

const push = (url: string, body: BodyInit, workspace = 'test', token?: string) =>
  fetch(`${url}/v1/workspaces/${workspace}/push`, {
    method: 'POST',
    body,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

/** A push of one small file with its chunk: what a well-behaved agent sends. */
function goodPush(path = `ok-${Math.random().toString(36).slice(2)}.txt`, text = 'fine', agent = AGENT) {
  const bytes = new TextEncoder().encode(text);
  const hash = sha256Hex(bytes);
  const change = {
    path,
    vector: { [agent]: 1 },
    content: {
      kind: 'file',
      hash: fileHashFromChunks([hash]),
      size: bytes.length,
      exec: false,
      chunks: [[hash, bytes.length]],
    },
  };
  return encodeEnvelope({ agent, changes: [change] }, [makeFrame(hash, bytes)]);
}

async function refusal(reply: Response): Promise<{ status: number; error: string; message: string }> {
  const body = (await reply.json()) as { error: string; message: string };
  return { status: reply.status, ...body };
}

describe('pushes', () => {
  it('refuses with 413 a push whose tiny zstd frames inflate past the limit, and stores nothing', async () => {
    const hub = startHub();
    // Each frame is a few dozen bytes that inflate to a whole chunk: 64 MiB of them would make ~750 GiB.
    const zeros = compress(new Uint8Array(MAX_CHUNK_BYTES));
    const count = HUB_LIMITS.pushInflatedBytes / MAX_CHUNK_BYTES + 8;
    const frames: ChunkFrame[] = Array.from({ length: count }, () => ({
      hash: randomBytes(32).toString('hex'),
      encoding: 'zstd',
      payload: zeros,
    }));
    const body = encodeEnvelope({ agent: AGENT, changes: [] }, frames);
    expect(body.length).toBeLessThan(1024 * 1024);
    const reply = await refusal(await push(hub.url, body));
    expect(reply).toMatchObject({ status: 413, error: 'too-large' });
    expect(reply.message).toContain('256 MiB');
    expect((await hub.store.changesSince('test', 0, 10)).head).toBe(0);
    expect(hub.sync.hub.count()).toBe(0);
    expect((await push(hub.url, goodPush())).status).toBe(200);
  });

  it('refuses with 413 a push of more frames than the limit, before opening any', async () => {
    const hub = startHub();
    const frame: ChunkFrame = { hash: '0'.repeat(64), encoding: 'raw', payload: new Uint8Array(0) };
    const body = encodeEnvelope({ agent: AGENT, changes: [] }, Array(HUB_LIMITS.pushFrames + 1).fill(frame));
    const reply = await refusal(await push(hub.url, body));
    expect(reply).toMatchObject({ status: 413, error: 'too-large' });
    expect(reply.message).toContain(String(HUB_LIMITS.pushFrames));
    expect((await push(hub.url, goodPush())).status).toBe(200);
  });

  it('refuses with 413 a compressed header that inflates past the header limit', async () => {
    const hub = startHub();
    const json = JSON.stringify({ agent: AGENT, changes: [], pad: 'x'.repeat(MAX_HEADER_BYTES) });
    const packed = compress(new TextEncoder().encode(json));
    const body = new Uint8Array(4 + packed.length);
    new DataView(body.buffer).setUint32(0, (packed.length | 0x80000000) >>> 0);
    body.set(packed, 4);
    const reply = await refusal(await push(hub.url, body));
    expect(reply).toMatchObject({ status: 413, error: 'too-large' });
    expect(reply.message).toContain('32 MiB');
  });

  it('answers 429 past the concurrent pushes of one workspace, and serves other workspaces meanwhile', async () => {
    const hub = startHub();
    const held = await holdPushes(hub.url, HUB_LIMITS.pushesPerWorkspace);
    let busy: Response | undefined;
    await waitUntil(async () => {
      const reply = await push(hub.url, goodPush());
      if (reply.status === 429) busy = reply;
      else await reply.body?.cancel();
      return busy !== undefined;
    }, 'a push to be turned away');
    const reply = await refusal(busy!);
    expect(reply).toMatchObject({ status: 429, error: 'busy' });
    expect(reply.message).toContain(`${HUB_LIMITS.pushesPerWorkspace} pushes in progress`);
    expect(busy!.headers.get('retry-after')).toBe('1');
    expect((await push(hub.url, goodPush(), 'other')).status).toBe(200);
    // Once the held pushes end (here: their clients go away), their slots are free again.
    for (const socket of held) socket.destroy();
    await waitUntil(async () => (await push(hub.url, goodPush())).status === 200, 'the slots to be free');
  });

  it('answers 429 past the concurrent pushes of one credential, while its workspace serves others', async () => {
    const admin = 'admin-credential-for-limits';
    const hub = startHub({ token: admin });
    const credential = async () => {
      const reply = await fetch(`${hub.url}/v1/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ workspace: 'test' }),
      });
      return ((await reply.json()) as { token: string }).token;
    };
    const greedy = await credential();
    const other = await credential();
    expect(HUB_LIMITS.pushesPerCredential).toBeLessThan(HUB_LIMITS.pushesPerWorkspace);
    const held = await holdPushes(hub.url, HUB_LIMITS.pushesPerCredential, greedy);
    let busy: Response | undefined;
    await waitUntil(async () => {
      const reply = await push(hub.url, goodPush(), 'test', greedy);
      if (reply.status === 429) busy = reply;
      else await reply.body?.cancel();
      return busy !== undefined;
    }, 'a push of the same credential to be turned away');
    const reply = await refusal(busy!);
    expect(reply).toMatchObject({ status: 429, error: 'busy' });
    expect(reply.message).toBe(
      `this credential already has ${HUB_LIMITS.pushesPerCredential} pushes in progress (the limit per credential); retry shortly`,
    );
    expect(busy!.headers.get('retry-after')).toBe('1');
    // The workspace still has slots, and another credential of it gets one.
    expect((await push(hub.url, goodPush(undefined, 'other', OTHER_AGENT), 'test', other)).status).toBe(200);
    for (const socket of held) socket.destroy();
    await waitUntil(
      async () => (await push(hub.url, goodPush(), 'test', greedy)).status === 200,
      "the credential's slots to be free",
    );
  });
});

const OTHER_AGENT = '8899aabbccddeeff';

/** `count` pushes whose bodies never finish, holding their slots: raw connections that stop mid-body. */
function holdPushes(url: string, count: number, token?: string): Promise<Socket[]> {
  const { hostname, port } = new URL(url);
  const auth = token ? `Authorization: Bearer ${token}\r\n` : '';
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = connect(Number(port), hostname, () => {
            socket.write(
              `POST /v1/workspaces/test/push HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${auth}Content-Length: 1000\r\n\r\n\x00\x00\x00\x02`,
            );
            resolve(socket);
          });
        }),
    ),
  );
}

describe('request bodies', () => {
  // Up to a little past the limit Bun let the app answer; further past, it answered itself with
  // an empty 413 before the app saw the request.
  for (const [name, size] of [
    ['just over', 65 * 1024],
    ['many times', 5 * 1024 * 1024],
  ] as const) {
    it(`refuses a body ${name} the limit with a 413 that names it, and keeps serving`, async () => {
      const hub = startHub({ maxBodyBytes: 64 * 1024 });
      for (const [method, path] of [
        ['POST', '/v1/workspaces/test/push'],
        ['PUT', `/v1/workspaces/test/snapshots/${'a'.repeat(64)}`],
        ['POST', '/v1/chunks/missing'],
      ] as const) {
        const reply = await refusal(await fetch(`${hub.url}${path}`, { method, body: new Uint8Array(size) }));
        expect(reply, `${method} ${path}`).toMatchObject({ status: 413, error: 'too-large' });
        expect(reply.message).toContain('64 KiB');
      }
      expect((await push(hub.url, goodPush())).status).toBe(200);
    });
  }
});

describe('deep paths', () => {
  // Each change used to look up every folder above it: 5,000 paths below a folder 2,040 deep in
  // one push were 10 million lookups in one transaction, during which the hub answered nobody.
  it('decides a push of 5,000 paths below one folder at the depth bound, and keeps serving', async () => {
    const hub = startHub();
    const deep = Array.from({ length: MAX_PATH_DEPTH - 1 }, () => 'd').join('/');
    const changes = Array.from({ length: 5000 }, (_, i) => ({
      path: `${deep}/f${i}`,
      vector: { [AGENT]: 1 },
      content: { kind: 'dir' },
    }));
    const reply = await push(hub.url, encodeEnvelope({ agent: AGENT, changes }, []));
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { results: Array<{ status: string }> };
    expect(body.results.filter((r) => r.status === 'accepted')).toHaveLength(5000);
    expect((await push(hub.url, goodPush())).status).toBe(200);
  });

  it('refuses, path by path, what is nested past the bound, and takes the rest of the push', async () => {
    const hub = startHub();
    const deep = Array.from({ length: MAX_PATH_DEPTH }, () => 'd').join('/');
    const changes = [`${deep}/x`, 'shallow', `${deep}/y`].map((path) => ({
      path,
      vector: { [AGENT]: 1 },
      content: { kind: 'dir' },
    }));
    const reply = await push(hub.url, encodeEnvelope({ agent: AGENT, changes }, []));
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as {
      results: Array<{ path: string; status: string; code?: string }>;
    };
    const outcome = Object.fromEntries(body.results.map((r) => [r.path, r.code ?? r.status]));
    expect(outcome).toEqual({
      [`${deep}/x`]: 'invalid-path:too-deep',
      shallow: 'accepted',
      [`${deep}/y`]: 'invalid-path:too-deep',
    });
  });

  it('still moves a deep path under a file to its conflict name', async () => {
    const hub = startHub();
    const deep = Array.from({ length: 100 }, () => 'd').join('/');
    const file = (path: string) => {
      const bytes = new TextEncoder().encode(path);
      const hash = sha256Hex(bytes);
      const content = { kind: 'file', hash: fileHashFromChunks([hash]), size: bytes.length, exec: false };
      return {
        change: { path, vector: { [AGENT]: 1 }, content: { ...content, chunks: [[hash, bytes.length]] } },
        frame: makeFrame(hash, bytes),
      };
    };
    // In one push: folders, then a file where one of them is, then paths below that file.
    const blocker = file(`${deep.slice(0, 99)}`);
    const below = file(`${deep}/leaf`);
    const changes = [
      { path: `${deep}/x`, vector: { [AGENT]: 1 }, content: { kind: 'dir' } },
      blocker.change,
      below.change,
    ];
    const reply = await push(
      hub.url,
      encodeEnvelope({ agent: AGENT, changes }, [blocker.frame, below.frame]),
    );
    const body = (await reply.json()) as {
      results: Array<{ path: string; status: string; copyPath?: string }>;
    };
    expect(body.results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'conflict']);
    expect(body.results[2]?.copyPath).toStartWith(`${deep.slice(0, 99)}.conflict-${AGENT}-dir/`);
  });
});

describe('chunk requests', () => {
  it('refuses with 413 a missing-chunks list over the limit', async () => {
    const hub = startHub();
    const hashes = Array(MAX_MISSING_HASHES + 1).fill('a'.repeat(64));
    const reply = await refusal(
      await fetch(`${hub.url}/v1/chunks/missing`, { method: 'POST', body: JSON.stringify({ hashes }) }),
    );
    expect(reply).toMatchObject({ status: 413, error: 'too-large' });
    expect(reply.message).toContain(String(MAX_MISSING_HASHES));
  });

  it('stops a fetch reply at the raw-bytes limit however well the chunks compress', async () => {
    const hub = startHub({ limits: { fetchRawBytes: 4 * MAX_CHUNK_BYTES } });
    const chunks = Array.from({ length: 10 }, (_, i) => {
      const bytes = new Uint8Array(MAX_CHUNK_BYTES);
      bytes[0] = i;
      return { hash: sha256Hex(bytes), bytes };
    });
    const stored = await push(
      hub.url,
      encodeEnvelope(
        { agent: AGENT, changes: [] },
        chunks.map((c) => makeFrame(c.hash, c.bytes)),
      ),
    );
    expect(stored.status).toBe(200);
    const reply = await fetch(`${hub.url}/v1/chunks/fetch`, {
      method: 'POST',
      body: JSON.stringify({ want: chunks.map((c) => ({ hash: c.hash })) }),
    });
    const { header, frames } = decodeEnvelope(new Uint8Array(await reply.arrayBuffer()));
    expect(header).toEqual({ missing: [] });
    expect(frames.map((f) => f.hash)).toEqual(chunks.slice(0, 4).map((c) => c.hash));
  });
});

describe('the live socket', () => {
  it('closes a socket that sends a message over the limit (1009)', async () => {
    const hub = startHub();
    const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/v1/workspaces/test/live?agent=${AGENT}`);
    await new Promise((resolve) => {
      socket.onopen = resolve;
    });
    const closed = new Promise<number>((resolve) => {
      socket.onclose = (event) => resolve(event.code);
    });
    socket.send('x'.repeat(HUB_LIMITS.liveMessageBytes + 1));
    expect(await closed).toBe(1009);
    expect((await push(hub.url, goodPush())).status).toBe(200);
  });

  it('closes the socket of a reader that stopped reading, while other agents keep syncing', async () => {
    const hub = startHub({ limits: { liveBacklogBytes: 256 * 1024 } });
    const a = await startAgent(hub);
    const b = await startAgent(hub);
    // A client in its own process, stopped with SIGSTOP: it reads nothing while stopped.
    const script = join(tempDir(), 'stalled.ts');
    writeFileSync(
      script,
      `const socket = new WebSocket(process.argv[2]);
       socket.onopen = () => console.log('open');
       socket.onclose = (e) => console.log('closed ' + e.code + ' ' + e.reason);`,
    );
    const stalled = Bun.spawn(
      [process.execPath, script, `${hub.url.replace('http', 'ws')}/v1/workspaces/test/live?agent=5ea1ed00`],
      { stdout: 'pipe' },
    );
    let output = '';
    void (async () => {
      for await (const part of stalled.stdout) output += new TextDecoder().decode(part);
    })();
    try {
      const present = () => hub.sync.hub.connected().some((x) => x.agentId === '5ea1ed00');
      await waitUntil(() => output.includes('open') && present(), 'the stalled client to connect');
      stalled.kill('SIGSTOP');
      // Notifications with incompressible inline files, until the socket's buffers are full.
      for (let i = 0; i < 2000 && present(); i++) {
        const text = randomBytes(96 * 1024).toString('base64');
        const reply = await push(hub.url, goodPush(`bulk/${i}.txt`, text));
        expect(reply.status).toBe(200);
      }
      expect(present()).toBe(false);
      stalled.kill('SIGCONT');
      await waitUntil(() => output.includes('closed'), 'the stalled client to see its socket closed');
      expect(output).toContain('closed 1013');
      expect(output).toContain('live backlog limit');
      // The agents that read go on syncing.
      writeFileSync(join(a.tree.root, 'after.txt'), 'still syncing');
      await waitConverged([a.tree.root, b.tree.root]);
      expect(hub.sync.hub.count()).toBe(2);
    } finally {
      stalled.kill('SIGCONT');
      stalled.kill();
      await stalled.exited;
    }
  });

  it('an agent whose socket the hub closes reconnects and catches up', async () => {
    const hub = startHub();
    const a = await startAgent(hub);
    const b = await startAgent(hub);
    for (const agent of hub.sync.hub.connected().filter((x) => x.agentId === b.agentId))
      agent.socket.close(1013, 'over the live backlog limit; reconnect and catch up');
    writeFileSync(join(a.tree.root, 'while-closed.txt'), 'made while b was away');
    await waitConverged([a.tree.root, b.tree.root], 'b to catch up after its socket was closed');
    await waitUntil(() => hub.sync.hub.connected().some((x) => x.agentId === b.agentId), 'b to reconnect');
  });
});
