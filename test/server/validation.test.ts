/**
 * What the hub stores is what every agent can read back: version-vector keys are agent ids, and a
 * file entry's declared chunk sizes match the chunks the hub holds.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflictCopyPath } from '../../src/core/conflict.ts';
import { encodeEnvelope, makeFrame } from '../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';
import { changesResponseSchema, hubErrorSchema } from '../../src/core/protocol.ts';
import { cleanup, startAgent, startHub, waitConverged, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

const AGENT = '0a1b2c3d';
const text = (s: string) => new TextEncoder().encode(s);

const push = (url: string, body: Uint8Array<ArrayBuffer>) =>
  fetch(`${url}/v1/workspaces/test/push`, { method: 'POST', body });

/** A file made of `parts`, each its own chunk, declared with `sizes` (the true sizes by default). */
function fileOf(path: string, parts: string[], sizes = parts.map((p) => text(p).length)) {
  const bytes = parts.map(text);
  const hashes = bytes.map((b) => sha256Hex(b));
  return {
    change: {
      path,
      vector: { [AGENT]: 1 } as Record<string, number>,
      content: {
        kind: 'file',
        hash: fileHashFromChunks(hashes),
        size: sizes.reduce((a, b) => a + b, 0),
        exec: false,
        chunks: hashes.map((h, i) => [h, sizes[i]!]),
      },
    },
    frames: bytes.map((b, i) => makeFrame(hashes[i]!, b)),
  };
}

describe('version-vector keys', () => {
  // Written as JSON text: an object literal's __proto__ would set the prototype, not a key.
  const hostile: [name: string, vector: string][] = [
    ['constructor', '{"constructor": 1}'],
    ['__proto__', '{"__proto__": 1}'],
    ['toString beside a real id', `{"${AGENT}": 1, "toString": 2}`],
    ['a name that is no agent id', '{"laptop": 1}'],
  ];
  for (const [name, vector] of hostile) {
    it(`refuses ${name} with 400, and catch-up keeps working`, async () => {
      const hub = startHub();
      const { change, frames } = fileOf('victim.txt', ['content']);
      const json = JSON.stringify({ agent: AGENT, changes: [{ ...change, vector: '@VECTOR@' }] }).replace(
        '"@VECTOR@"',
        vector,
      );
      const reply = await push(hub.url, encodeEnvelope(JSON.parse(json), frames));
      expect(reply.status).toBe(400);
      expect(((await reply.json()) as { message: string }).message).toContain('vector');
      // A good push after it, then a catch-up page every agent accepts, and a real agent syncing.
      const good = fileOf('good.txt', ['good']);
      expect(
        (await push(hub.url, encodeEnvelope({ agent: AGENT, changes: [good.change] }, good.frames))).status,
      ).toBe(200);
      const page = changesResponseSchema.safeParse(
        await (await fetch(`${hub.url}/v1/workspaces/test/changes?since=0`)).json(),
      );
      expect(page.success).toBe(true);
      expect(page.data?.entries.map((e) => e.path)).toEqual(['good.txt']);
      const a = await startAgent(hub);
      const b = await startAgent(hub);
      writeFileSync(join(a.tree.root, 'after.txt'), 'synced');
      await waitConverged([a.tree.root, b.tree.root]);
    });
  }
});

describe('declared chunk sizes', () => {
  const rejected = async (url: string, body: Uint8Array<ArrayBuffer>) => {
    const reply = (await (await push(url, body)).json()) as {
      results: Array<{ status: string; code?: string; message?: string }>;
    };
    return reply.results[0];
  };

  it("refuses sizes that do not add up to the file's size", async () => {
    const hub = startHub();
    const { change, frames } = fileOf('short.txt', ['hello']);
    const lying = { ...change, content: { ...change.content, size: 500 } };
    expect(await rejected(hub.url, encodeEnvelope({ agent: AGENT, changes: [lying] }, frames))).toMatchObject(
      {
        status: 'rejected',
        code: 'chunk-size-mismatch',
      },
    );
    expect(await hub.store.entry('test', 'short.txt')).toBeUndefined();
  });

  it('refuses sizes that add up but do not match the chunks sent with the push', async () => {
    const hub = startHub();
    // 5 + 3 bytes declared as 3 + 5: a peer would cut the file at the wrong place.
    const { change, frames } = fileOf('swapped.txt', ['hello', 'abc'], [3, 5]);
    const result = await rejected(hub.url, encodeEnvelope({ agent: AGENT, changes: [change] }, frames));
    expect(result).toMatchObject({ status: 'rejected', code: 'chunk-size-mismatch' });
    expect(result?.message).toContain('not the declared 3');
    expect(await hub.store.entry('test', 'swapped.txt')).toBeUndefined();
  });

  it('refuses sizes that do not match chunks the hub already held', async () => {
    const hub = startHub();
    const honest = fileOf('first.txt', ['hello', 'abc']);
    expect(
      (await rejected(hub.url, encodeEnvelope({ agent: AGENT, changes: [honest.change] }, honest.frames)))
        ?.status,
    ).toBe('accepted');
    const { change } = fileOf('second.txt', ['hello', 'abc'], [4, 4]);
    expect(await rejected(hub.url, encodeEnvelope({ agent: AGENT, changes: [change] }, []))).toMatchObject({
      status: 'rejected',
      code: 'chunk-size-mismatch',
    });
    expect(await hub.store.entry('test', 'second.txt')).toBeUndefined();
  });
});

describe('declared file sizes', () => {
  const refusal = async (url: string, content: Record<string, unknown>) => {
    const { change, frames } = fileOf('huge.bin', ['hello']);
    const reply = await push(
      url,
      encodeEnvelope(
        { agent: AGENT, changes: [{ ...change, content: { ...change.content, ...content } }] },
        frames,
      ),
    );
    return { status: reply.status, ...((await reply.json()) as { error: string; message: string }) };
  };
  const hashOf = (s: string) => sha256Hex(text(s));

  it('refuses with 400 a file declared over 1 TiB, naming the bound', async () => {
    const hub = startHub();
    // The bound is checked before the chunk list is: no sum of sizes is taken of such a file.
    const reply = await refusal(hub.url, { size: 2 ** 60, chunks: [[hashOf('hello'), 5]] });
    expect(reply).toMatchObject({ status: 400, error: 'bad-request' });
    expect(reply.message).toContain('a file is at most 1 TiB');
    expect(await hub.store.entry('test', 'huge.bin')).toBeUndefined();
  });

  it('refuses with 400 a chunk declared over 1 MiB, naming the bound', async () => {
    const hub = startHub();
    const reply = await refusal(hub.url, {
      size: 2 * 1024 * 1024,
      chunks: [[hashOf('hello'), 2 * 1024 * 1024]],
    });
    expect(reply).toMatchObject({ status: 400, error: 'bad-request' });
    expect(reply.message).toContain('a chunk is at most 1 MiB');
  });

  it('refuses sizes past 2^53 that a double would add up to the declared size', async () => {
    const hub = startHub();
    // As doubles, 2^53 + 1 is 2^53: the chunk list would seem to add up while a byte is unaccounted.
    const reply = await refusal(hub.url, {
      size: 2 ** 53,
      chunks: [
        [hashOf('hello'), 2 ** 53],
        [hashOf('x'), 1],
      ],
    });
    expect(reply.status).toBe(400);
    expect(reply.message).toContain('at most');
    expect(await hub.store.entry('test', 'huge.bin')).toBeUndefined();
  });
});

describe('refusals', () => {
  it('answers an unknown route or method with a JSON 404, as every other refusal', async () => {
    const hub = startHub();
    for (const [method, path] of [
      ['GET', '/v1/nothing'],
      ['GET', '/v1/workspaces/test/push'],
      ['POST', '/v1/status'],
      ['GET', '/v1/workspaces/test/snapshots/'],
    ] as const) {
      const reply = await fetch(`${hub.url}${path}`, { method });
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(hubErrorSchema.parse(await reply.json()).error).toBe('not-found');
    }
  });
});

describe('conflict copies near the path bounds', () => {
  const OTHER = '9f8e7d6c';
  const pushAs = async (url: string, agent: string, file: ReturnType<typeof fileOf>) => {
    const change = { ...file.change, vector: { [agent]: 1 } };
    const reply = await push(url, encodeEnvelope({ agent, changes: [change] }, file.frames));
    expect(reply.status).toBe(200);
    return ((await reply.json()) as { results: Array<{ status: string; code?: string }> }).results[0];
  };
  // 16 segments of 250 bytes and one of 80: 4096 bytes, the most a path may have.
  const deep = `${Array.from({ length: 16 }, () => 'a'.repeat(250)).join('/')}/${'c'.repeat(80)}`;
  const longName = `${'n'.repeat(251)}.txt`;
  const cases: Array<[name: string, path: string, before: (url: string) => Promise<void>]> = [
    ['a copy over 4096 bytes', deep, async () => {}],
    [
      'a subtree moved under a file whose copy would be over 4096 bytes',
      `blocker/${deep.slice('blocker/'.length)}`,
      async (url) => {
        await pushAs(url, AGENT, fileOf('blocker', ['a file where the folder would be']));
      },
    ],
    [
      'a numbered copy whose name would be over 255 bytes',
      longName,
      async (url) => {
        // The copy's first choice of name is taken by other content: the next has a number.
        const taken = conflictCopyPath(longName, OTHER, fileOf(longName, ['theirs']).change.content.hash);
        await pushAs(url, '5a5a5a5a', fileOf(taken, ['something else']));
      },
    ],
  ];
  for (const [name, path, before] of cases) {
    it(`refuses the change when it would need ${name}, and catch-up keeps working`, async () => {
      const hub = startHub();
      await before(hub.url);
      if (!path.startsWith('blocker/')) await pushAs(hub.url, AGENT, fileOf(path, ['mine']));
      const result = await pushAs(hub.url, OTHER, fileOf(path, ['theirs']));
      expect(result).toMatchObject({ status: 'rejected' });
      expect(result?.code).toStartWith('conflict-copy:');
      const page = changesResponseSchema.safeParse(
        await (await fetch(`${hub.url}/v1/workspaces/test/changes?since=0`)).json(),
      );
      expect(page.success).toBe(true);
      const a = await startAgent(hub);
      const b = await startAgent(hub);
      writeFileSync(join(a.tree.root, 'after.txt'), 'synced');
      await waitConverged([a.tree.root, b.tree.root]);
    });
  }
});

describe('values the schema library cannot compare', () => {
  // `length` with an own toString that is no function: zod compares it to a bound and throws.
  const hostile = '{"length": {"toString": 1}}';
  const requests: Array<[name: string, send: (url: string) => Promise<Response>]> = [
    [
      'a push',
      (url) => push(url, encodeEnvelope(JSON.parse(`{"agent": "${AGENT}", "changes": ${hostile}}`), [])),
    ],
    [
      'a missing-chunks request',
      (url) => fetch(`${url}/v1/chunks/missing`, { method: 'POST', body: `{"hashes": ${hostile}}` }),
    ],
    [
      'a fetch request',
      (url) => fetch(`${url}/v1/chunks/fetch`, { method: 'POST', body: `{"want": ${hostile}}` }),
    ],
    [
      'a snapshot manifest',
      (url) =>
        fetch(`${url}/v1/workspaces/test/snapshots/${'a'.repeat(64)}`, {
          method: 'PUT',
          body: `{"format": 1, "lockHash": "${'a'.repeat(64)}", "platform": "linux-x64", "nodeAbi": "127", "entries": ${hostile}}`,
        }),
    ],
  ];
  for (const [name, send] of requests) {
    it(`answers 400, not 500, for ${name} holding one`, async () => {
      const hub = startHub();
      const reply = await send(hub.url);
      expect(reply.status).toBe(400);
      expect(hubErrorSchema.parse(await reply.json()).error).toBe('bad-request');
    });
  }

  it('answers a live message holding one with an error, and the hub lives on', async () => {
    const hub = startHub();
    const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/v1/workspaces/test/live?agent=${AGENT}`);
    const messages: string[] = [];
    socket.onmessage = (e) => messages.push(String(e.data));
    await new Promise((resolve) => {
      socket.onopen = resolve;
    });
    socket.send(`{"type": "problems", "problems": ${hostile}}`);
    await waitUntil(() => messages.some((m) => m.includes('malformed message')), 'the error answer');
    expect(socket.readyState).toBe(WebSocket.OPEN);
    expect((await fetch(`${hub.url}/v1/status`)).status).toBe(200);
    socket.close();
  });
});

describe('paths that are not valid Unicode', () => {
  it('refuses a path with a lone surrogate, which would be stored as another path', async () => {
    const hub = startHub();
    // U+D800 alone has no UTF-8 form: SQLite would keep 'a\uFFFDb', a path nobody pushed.
    const { change, frames } = fileOf('a\ud800b', ['content']);
    const reply = await push(hub.url, encodeEnvelope({ agent: AGENT, changes: [change] }, frames));
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { message: string }).message).toContain('lone surrogate');
    expect((await hub.store.changesSince('test', 0, 10)).entries).toEqual([]);
  });
});
