/**
 * Large files' chunk lists as edits over the wire, against a real hub: a push may spell the list
 * as an edit of the hub's version, which the hub expands and stores whole; an edit of a version it
 * does not hold is refused on its own; peers hear of the version as an edit of the one before.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { compactContent, STALE_CHUNK_BASE } from '../../src/core/chunk-edit.ts';
import { decodeEnvelope, encodeEnvelope } from '../../src/core/frames.ts';
import { changesResponseSchema, wireLiveHeaderSchema } from '../../src/core/protocol.ts';
import { manyChunkChange } from '../helpers/file-change.ts';
import { cleanup, onCleanup, startHub, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

const AGENT = 'a1a1a1a1';
const PEER = 'b2b2b2b2';
const labels = (n: number, changed = -1) =>
  Array.from({ length: n }, (_, i) => (i === changed ? `new ${i}` : `piece ${i}`));

async function push(
  url: string,
  changes: unknown[],
  frames: ReturnType<typeof manyChunkChange>['frames'] = [],
) {
  const reply = await fetch(`${url}/v1/workspaces/test/push`, {
    method: 'POST',
    body: encodeEnvelope({ agent: AGENT, changes }, frames),
  });
  expect(reply.status).toBe(200);
  return ((await reply.json()) as { results: Array<{ status: string; code?: string }> }).results;
}

async function stored(url: string) {
  const page = changesResponseSchema.parse(
    await (await fetch(`${url}/v1/workspaces/test/changes?since=0`)).json(),
  );
  return page.entries.find((e) => e.path === 'big.bin')?.content;
}

describe('chunk-list edits in pushes', () => {
  it('expands an edit of the version the hub holds, and stores the list whole', async () => {
    const hub = startHub();
    const first = manyChunkChange('big.bin', labels(100), { [AGENT]: 1 });
    expect(await push(hub.url, [first.change], first.frames)).toMatchObject([{ status: 'accepted' }]);
    const second = manyChunkChange('big.bin', labels(100, 40), { [AGENT]: 2 });
    const wire = compactContent(second.change.content, first.change.content);
    expect(wire).toMatchObject({ edit: { from: first.change.content.hash } });
    const results = await push(hub.url, [{ ...second.change, content: wire }], second.frames.slice(40, 41));
    expect(results).toMatchObject([{ status: 'accepted' }]);
    expect(await stored(hub.url)).toEqual(second.change.content);
  });

  it('refuses an edit of a version it does not hold, and keeps its own', async () => {
    const hub = startHub();
    const first = manyChunkChange('big.bin', labels(100), { [AGENT]: 1 });
    await push(hub.url, [first.change], first.frames);
    const other = manyChunkChange('big.bin', labels(100, 7), { [AGENT]: 9 }).change.content;
    const third = manyChunkChange('big.bin', labels(100, 60), { [AGENT]: 2 });
    const wire = compactContent(third.change.content, other);
    const results = await push(hub.url, [{ ...third.change, content: wire }], third.frames.slice(60, 61));
    expect(results).toMatchObject([{ status: 'rejected', code: STALE_CHUNK_BASE }]);
    expect(await stored(hub.url)).toEqual(first.change.content);
    // Sent whole, the same change is taken: its chunk went with the refused push.
    expect(await push(hub.url, [third.change])).toMatchObject([{ status: 'accepted' }]);
  });

  it('answers an edit sent again after its answer was lost from the record of the first', async () => {
    const hub = startHub();
    const first = manyChunkChange('big.bin', labels(100), { [AGENT]: 1 });
    await push(hub.url, [first.change], first.frames);
    const second = manyChunkChange('big.bin', labels(100, 40), { [AGENT]: 2 });
    const body = encodeEnvelope(
      {
        agent: AGENT,
        pushId: 'c'.repeat(32),
        changes: [{ ...second.change, content: compactContent(second.change.content, first.change.content) }],
      },
      second.frames.slice(40, 41),
    );
    const send = async () =>
      (await (await fetch(`${hub.url}/v1/workspaces/test/push`, { method: 'POST', body })).json()) as {
        results: unknown[];
      };
    const answer = await send();
    expect(answer.results).toMatchObject([{ status: 'accepted' }]);
    expect((await send()).results).toEqual(answer.results);
    expect((await hub.store.changesSince('test', 0, 10)).head).toBe(2);
  });

  it('answers it from the record even when another agent changed the path in between', async () => {
    const hub = startHub();
    const first = manyChunkChange('big.bin', labels(100), { [AGENT]: 1 });
    await push(hub.url, [first.change], first.frames);
    const second = manyChunkChange('big.bin', labels(100, 40), { [AGENT]: 2 });
    const body = encodeEnvelope(
      {
        agent: AGENT,
        pushId: 'd'.repeat(32),
        changes: [{ ...second.change, content: compactContent(second.change.content, first.change.content) }],
      },
      second.frames.slice(40, 41),
    );
    const send = async () =>
      (await (await fetch(`${hub.url}/v1/workspaces/test/push`, { method: 'POST', body })).json()) as {
        results: unknown[];
      };
    const answer = await send();
    expect(answer.results).toMatchObject([{ status: 'accepted' }]);
    // The peer's version follows the first push: the edit's base is no longer the hub's.
    const third = manyChunkChange('big.bin', labels(100, 70), { [AGENT]: 2, [PEER]: 1 });
    const byPeer = await fetch(`${hub.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent: PEER, changes: [third.change] }, third.frames.slice(70, 71)),
    });
    expect(((await byPeer.json()) as { results: unknown[] }).results).toMatchObject([{ status: 'accepted' }]);
    expect((await send()).results).toEqual(answer.results);
    const page = await hub.store.changesSince('test', 0, 10);
    expect(page.head).toBe(3);
    expect(page.entries.map((e) => e.path)).toEqual(['big.bin']);
    expect(await stored(hub.url)).toEqual(third.change.content);
  });

  it('records the refusals of a push with an id that had nothing to commit', async () => {
    // So a first copy of it, delayed behind another commit, is answered with them, not committed
    // after its agent was told the change was refused.
    const hub = startHub();
    const first = manyChunkChange('big.bin', labels(100), { [AGENT]: 1 });
    await push(hub.url, [first.change], first.frames);
    const other = manyChunkChange('big.bin', labels(100, 7), { [AGENT]: 9 }).change.content;
    const second = manyChunkChange('big.bin', labels(100, 40), { [AGENT]: 2 });
    const send = async (content: unknown) => {
      const body = encodeEnvelope(
        { agent: AGENT, pushId: 'e'.repeat(32), changes: [{ ...second.change, content }] },
        second.frames.slice(40, 41),
      );
      const reply = await fetch(`${hub.url}/v1/workspaces/test/push`, { method: 'POST', body });
      return ((await reply.json()) as { results: unknown[] }).results;
    };
    const refused = await send(compactContent(second.change.content, other));
    expect(refused).toMatchObject([{ status: 'rejected', code: STALE_CHUNK_BASE }]);
    expect(await send(compactContent(second.change.content, first.change.content))).toEqual(refused);
    expect(await stored(hub.url)).toEqual(first.change.content);
  });

  it('refuses a push whose edits would expand past the bound, before expanding them', async () => {
    const hub = startHub();
    const first = manyChunkChange('big.bin', labels(100), { [AGENT]: 1 });
    await push(hub.url, [first.change], first.frames);
    // Each change is small on the wire and names the whole held list many times over.
    const runs = Array.from({ length: 2000 }, () => [0, 100]);
    const hostile = { ...first.change, content: { ...first.change.content, chunks: undefined } };
    const changes = Array.from({ length: 10 }, (_, i) => ({
      ...hostile,
      path: `copy-${i}.bin`,
      content: { ...hostile.content, edit: { from: first.change.content.hash, ops: runs } },
    }));
    const reply = await fetch(`${hub.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent: AGENT, changes }, []),
    });
    expect(reply.status).toBe(413);
    expect(await reply.text()).toContain('chunk-list edits');
    expect((await hub.store.changesSince('test', 0, 10)).head).toBe(1);
  });

  it('refuses a change that carries both a list and an edit, as malformed', async () => {
    const hub = startHub();
    const first = manyChunkChange('big.bin', labels(100), { [AGENT]: 1 });
    const both = { ...first.change.content, edit: { from: first.change.content.hash, ops: [[0, 100]] } };
    const reply = await fetch(`${hub.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent: AGENT, changes: [{ ...first.change, content: both }] }, first.frames),
    });
    expect(reply.status).toBe(400);
    expect(await reply.text()).toContain('chunk list or an edit');
  });

  it("announces a new version to peers as an edit of the path's previous one", async () => {
    const hub = startHub();
    const first = manyChunkChange('big.bin', labels(100), { [AGENT]: 1 });
    await push(hub.url, [first.change], first.frames);
    const heard: unknown[] = [];
    const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/v1/workspaces/test/live?agent=${PEER}`);
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event) => {
      const data = event.data as ArrayBuffer | string;
      heard.push(typeof data === 'string' ? JSON.parse(data) : decodeEnvelope(new Uint8Array(data)).header);
    };
    onCleanup(() => socket.close());
    await waitUntil(() => heard.length > 0, 'the hello');
    const second = manyChunkChange('big.bin', labels(100, 40), { [AGENT]: 2 });
    await push(hub.url, [second.change], second.frames.slice(40, 41));
    await waitUntil(() => heard.length > 1, 'the live batch');
    const batch = wireLiveHeaderSchema.parse(heard[1]);
    if (batch.type !== 'entries') throw new Error(`expected entries, got ${batch.type}`);
    const content = batch.entries[0]!.content;
    expect(content).toMatchObject({ kind: 'file', hash: second.change.content.hash });
    expect(content).toMatchObject({
      edit: { from: first.change.content.hash, ops: [[0, 40], expect.any(Array), [41, 59]] },
    });
    expect(content).not.toHaveProperty('chunks');
  });
});
