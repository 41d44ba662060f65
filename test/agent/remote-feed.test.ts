/**
 * The remote feed against a real hub on loopback: catch-up pages, the epoch, the cursor, the
 * live socket and its reconnection. Versions reach the hub from a real second agent.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubClient } from '../../src/agent/client.ts';
import { type LiveEntries, RemoteFeed, transientHubFailure } from '../../src/agent/remote-feed.ts';
import { AgentState } from '../../src/agent/state.ts';
import type { ManifestEntry } from '../../src/core/entry.ts';
import { encodeEnvelope } from '../../src/core/frames.ts';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { manyChunkChange } from '../helpers/file-change.ts';
import { cleanup, createAgent, onCleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

interface Recorded {
  lines: string[];
  startedOver: number;
  entries: LiveEntries[];
  behind: number;
  reconnected: number;
}

/** A feed of its own state folder, following `workspace` on `server`, that records what it reports. */
function feedOn(server: string, workspace = 'test', stateDir = tempDir()) {
  const state = new AgentState(stateDir);
  const seen: Recorded = { lines: [], startedOver: 0, entries: [], behind: 0, reconnected: 0 };
  const feed = new RemoteFeed({
    client: new HubClient({ server, workspace, agentId: state.agentId }),
    state,
    allowGit: false,
    log: (line) => seen.lines.push(line),
    onInvalid: () => {},
    onStartOver: () => seen.startedOver++,
    live: {
      entries: (header) => seen.entries.push(header),
      wanted: () => {},
      behind: () => seen.behind++,
      reconnected: () => seen.reconnected++,
    },
  });
  onCleanup(() => {
    feed.close();
    state.close();
  });
  return { feed, state, seen };
}

/** Writes `files` into a second agent's folder and syncs them to the hub once. */
async function publish(
  hub: { url: string },
  files: Record<string, string>,
  dir = tempDir(),
): Promise<string> {
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  const peer = createAgent(hub, { dir });
  await peer.syncOnce();
  await peer.stop();
  return dir;
}

const noEntry = (_entry: ManifestEntry) => {};

describe('catching up', () => {
  it('notes every version past the cursor as pending, and the head as seen', async () => {
    const hub = startHub();
    await publish(hub, { 'a.txt': 'a', 'b.txt': 'b' });
    const { feed, state } = feedOn(hub.url);
    const offered: string[] = [];
    expect(await feed.catchUp(0, (entry) => offered.push(entry.path))).toBe(false);
    expect([...feed.pending.keys()].sort()).toEqual(['a.txt', 'b.txt']);
    expect(offered.sort()).toEqual(['a.txt', 'b.txt']);
    expect(feed.highestSeen).toBe(2);
    expect(state.epoch).toBeTruthy();
  });

  it('reads only what lies past `since`', async () => {
    const hub = startHub();
    await publish(hub, { 'a.txt': 'a', 'b.txt': 'b' });
    const { feed } = feedOn(hub.url);
    await feed.catchUp(1, noEntry);
    expect(feed.pending.size).toBe(1);
  });

  it('starts over from zero when the hub holds another epoch', async () => {
    const hub = startHub();
    await publish(hub, { 'a.txt': 'a' });
    const { feed, state, seen } = feedOn(hub.url);
    state.setEpoch('an-epoch-the-hub-never-had');
    state.setCursor(1);
    expect(await feed.catchUp(1, noEntry)).toBe(true);
    expect(seen.startedOver).toBe(1);
    expect([...feed.pending.keys()]).toEqual(['a.txt']);
    expect(state.epoch).not.toBe('an-epoch-the-hub-never-had');
    expect(seen.lines.some((l) => l.includes('the hub went back'))).toBe(true);
  });

  it('starts over from zero when the hub head is below the cursor', async () => {
    const hub = startHub();
    await publish(hub, { 'a.txt': 'a' });
    const { feed, state, seen } = feedOn(hub.url);
    state.setCursor(50);
    expect(await feed.catchUp(50, noEntry)).toBe(true);
    expect(seen.startedOver).toBe(1);
    expect(state.cursor).toBe(0);
    expect(feed.pending.has('a.txt')).toBe(true);
  });

  it('ends the wait of a deferred version when a newer one arrives', async () => {
    const hub = startHub();
    const dir = await publish(hub, { 'a.txt': 'first' });
    const first = (await hub.store.changesSince('test', 0, 10)).entries[0]!;
    await publish(hub, { 'a.txt': 'second' }, dir);
    const stateDir = tempDir();
    const seed = new AgentState(stateDir);
    seed.setDeferred('a.txt', { entry: first, attempts: 2, retryAt: Date.now() + 60_000, problem: 'EIO' });
    seed.setCursor(first.seq);
    seed.flush();
    seed.close();
    const { feed, state } = feedOn(hub.url, 'test', stateDir);
    expect(feed.pending.get('a.txt')?.seq).toBe(first.seq);
    await feed.catchUp(first.seq, noEntry);
    expect(feed.pending.get('a.txt')!.seq).toBeGreaterThan(first.seq);
    expect(state.deferred.has('a.txt')).toBe(false);
  });
});

describe('the cursor', () => {
  it('stays below the first version still pending', async () => {
    const hub = startHub();
    await publish(hub, { 'a.txt': 'a', 'b.txt': 'b' });
    const { feed, state } = feedOn(hub.url);
    await feed.catchUp(0, noEntry);
    feed.pending.delete([...feed.pending.values()].find((e) => e.seq === 2)!.path);
    feed.advanceCursor(0);
    expect(state.cursor).toBe(0);
  });

  it('moves to the highest sequence seen once nothing is pending', async () => {
    const hub = startHub();
    await publish(hub, { 'a.txt': 'a', 'b.txt': 'b' });
    const { feed, state } = feedOn(hub.url);
    await feed.catchUp(0, noEntry);
    feed.pending.clear();
    feed.advanceCursor(0);
    expect(state.cursor).toBe(2);
  });

  it('counts the versions waiting up to a head, leaving deferred ones out', async () => {
    const hub = startHub();
    await publish(hub, { 'a.txt': 'a', 'b.txt': 'b' });
    const { feed, state } = feedOn(hub.url);
    await feed.catchUp(0, noEntry);
    expect(feed.waitingUpTo(1)).toBe(1);
    const a = feed.pending.get('a.txt')!;
    state.setDeferred('a.txt', { entry: a, attempts: 1, retryAt: Date.now(), problem: 'EIO' });
    expect(feed.waitingUpTo(2)).toBe(1);
  });
});

describe('the live socket', () => {
  it('hands over the versions the hub announces, and receive notes them', async () => {
    const hub = startHub();
    const { feed, seen } = feedOn(hub.url);
    feed.connect();
    await waitUntil(() => seen.lines.includes('live connection open'), 'the live connection');
    await publish(hub, { 'live.txt': 'x' });
    await waitUntil(() => seen.entries.length > 0, 'a live batch');
    const paths = await feed.receive(seen.entries[0]!, () => feed.catchUp(0, noEntry));
    expect([...paths]).toEqual(['live.txt']);
    expect(feed.pending.has('live.txt')).toBe(true);
    expect(feed.highestSeen).toBe(seen.entries[0]!.to);
  });

  it('asks for a catch-up when the hub greets it at another head', async () => {
    const hub = startHub();
    await publish(hub, { 'a.txt': 'a' });
    const { feed, seen } = feedOn(hub.url);
    feed.connect();
    await waitUntil(() => seen.behind === 1, 'the hello to ask for a catch-up');
  });

  it('asks for a catch-up when a batch holds an entry it cannot read', async () => {
    // A stand-in for the hub's live endpoint that announces one such batch (its counter is past
    // the largest exact JSON number), on loopback.
    const entry = {
      path: 'a.txt',
      content: { kind: 'dir' },
      vector: { '~hub': 2 ** 53 },
      seq: 1,
      agent: 'x',
    };
    const batch = { type: 'entries', from: 1, to: 1, origin: 'a1a1a1a1', batch: 'edits', entries: [entry] };
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (request, bun) => (bun.upgrade(request) ? undefined : new Response('not here', { status: 404 })),
      websocket: { open: (socket) => void socket.send(JSON.stringify(batch)), message: () => {} },
    });
    onCleanup(() => void server.stop(true));
    const { feed, seen } = feedOn(`http://127.0.0.1:${server.port}`);
    feed.connect();
    await waitUntil(() => seen.behind === 1, 'the unreadable batch to ask for a catch-up');
    expect(seen.entries).toEqual([]);
  });

  describe("a large file's chunk list sent as an edit", () => {
    const labels = (changed: number) =>
      Array.from({ length: 100 }, (_, i) => (i === changed ? 'new' : `piece ${i}`));
    const push = (hub: { url: string }, c: ReturnType<typeof manyChunkChange>) =>
      fetch(`${hub.url}/v1/workspaces/test/push`, {
        method: 'POST',
        body: encodeEnvelope({ agent: 'a1a1a1a1', changes: [c.change] }, c.frames),
      });
    /** The hub holds the first version; once `feed` is connected, the second is pushed. */
    async function editFirstVersion(hub: { url: string }, feed: RemoteFeed, seen: Recorded) {
      feed.connect();
      await waitUntil(() => seen.lines.includes('live connection open'), 'the live connection');
      const second = manyChunkChange('big.bin', labels(30), { a1a1a1a1: 2 });
      expect((await push(hub, second)).status).toBe(200);
      return second.change.content;
    }
    const first = manyChunkChange('big.bin', labels(-1), { a1a1a1a1: 1 });

    it('expands it against the base version', async () => {
      const hub = startHub();
      expect((await push(hub, first)).status).toBe(200);
      const { feed, state, seen } = feedOn(hub.url);
      state.setBase('big.bin', { content: first.change.content, vector: first.change.vector });
      const second = await editFirstVersion(hub, feed, seen);
      await waitUntil(() => seen.entries.length > 0, 'the live batch');
      expect(seen.entries[0]!.entries[0]!.content).toEqual(second);
      expect(seen.lines.filter((l) => l.includes('edits chunk lists'))).toEqual([]);
    });

    it('expands it against a version read in a catch-up and not yet applied', async () => {
      const hub = startHub();
      expect((await push(hub, first)).status).toBe(200);
      const { feed, state, seen } = feedOn(hub.url);
      state.setBase('big.bin', {
        content: manyChunkChange('big.bin', labels(5), {}).change.content,
        vector: {},
      });
      await feed.catchUp(0, () => {});
      expect(feed.pending.get('big.bin')?.content).toEqual(first.change.content);
      const second = await editFirstVersion(hub, feed, seen);
      await waitUntil(() => seen.entries.length > 0, 'the live batch');
      expect(seen.entries[0]!.entries[0]!.content).toEqual(second);
      expect(seen.lines.filter((l) => l.includes('edits chunk lists'))).toEqual([]);
    });

    it('expands an edit of the version the message before it announced', async () => {
      const hub = startHub();
      expect((await push(hub, first)).status).toBe(200);
      const { feed, state, seen } = feedOn(hub.url);
      state.setBase('big.bin', { content: first.change.content, vector: first.change.vector });
      await editFirstVersion(hub, feed, seen);
      await waitUntil(() => seen.entries.length > 0, 'the first live batch');
      // The first batch waits in the agent's queue (not received yet) when the second comes.
      const third = manyChunkChange('big.bin', labels(70), { a1a1a1a1: 3 });
      expect((await push(hub, third)).status).toBe(200);
      // (The hub's greeting already asked for a catch-up: its head is past this feed's cursor.)
      const fellBack = () => seen.lines.some((l) => l.includes('edits chunk lists'));
      await waitUntil(() => seen.entries.length > 1 || fellBack(), 'the second live batch');
      expect(seen.entries[1]?.entries[0]?.content).toEqual(third.change.content);
      expect(seen.lines.filter((l) => l.includes('edits chunk lists'))).toEqual([]);
    });

    it('reads it from the catch-up when it holds another version', async () => {
      const hub = startHub();
      expect((await push(hub, first)).status).toBe(200);
      const { feed, state, seen } = feedOn(hub.url);
      state.setBase('big.bin', {
        content: manyChunkChange('big.bin', labels(5), {}).change.content,
        vector: {},
      });
      await editFirstVersion(hub, feed, seen);
      await waitUntil(
        () => seen.behind > 0 && seen.lines.some((l) => l.includes('edits chunk lists')),
        'a catch-up',
      );
      expect(seen.entries).toEqual([]);
    });
  });

  it('expands no batch whose edits would build more chunk entries than any hub sends', async () => {
    // A stand-in hub, on loopback, whose every edit is valid: each names the whole held list.
    const held = manyChunkChange(
      'big.bin',
      Array.from({ length: 20_000 }, (_, i) => `piece ${i}`),
      { a1a1a1a1: 1 },
    ).change;
    const { chunks: _whole, ...rest } = held.content;
    const entries = Array.from({ length: 60 }, (_, i) => ({
      path: 'big.bin',
      content: { ...rest, edit: { from: held.content.hash, ops: [[0, 20_000]] } },
      vector: { a1a1a1a1: 2 + i },
      seq: 1 + i,
      agent: 'a1a1a1a1',
    }));
    const batch = { type: 'entries', from: 1, to: 60, origin: 'a1a1a1a1', batch: 'edits', entries };
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (request, bun) => (bun.upgrade(request) ? undefined : new Response('not here', { status: 404 })),
      websocket: { open: (socket) => void socket.send(JSON.stringify(batch)), message: () => {} },
    });
    onCleanup(() => void server.stop(true));
    const { feed, state, seen } = feedOn(`http://127.0.0.1:${server.port}`);
    state.setBase('big.bin', { content: held.content, vector: held.vector });
    feed.connect();
    await waitUntil(() => seen.behind === 1, 'the oversized batch to ask for a catch-up');
    expect(seen.entries).toEqual([]);
    expect(seen.lines.filter((l) => l.includes('edits chunk lists'))).toHaveLength(1);
  });

  it('reconnects after the connection is lost, and asks for a catch-up', async () => {
    const hub = startHub();
    let cut = false;
    const proxy = await startCuttingProxy(Number(new URL(hub.url).port), () => (cut ? 'down' : 'pass'));
    const { feed, seen } = feedOn(proxy.url);
    feed.connect();
    await waitUntil(() => seen.lines.includes('live connection open'), 'the live connection');
    cut = true;
    feed.send({ type: 'cursor', cursor: 0, pending: 0 });
    await waitUntil(() => seen.lines.some((l) => l.startsWith('live connection lost')), 'the loss');
    cut = false;
    proxy.up();
    await waitUntil(() => seen.reconnected > 0, 'a reconnection');
    await waitUntil(
      () => seen.lines.filter((l) => l === 'live connection open').length === 2,
      'the connection to open again',
    );
  });
});

describe('the first contact', () => {
  it('throws at once when the hub refuses (a bad workspace name)', async () => {
    const hub = startHub();
    const { feed } = feedOn(hub.url, '-not-a-name');
    const started = Date.now();
    await expect(feed.waitForHub()).rejects.toThrow('workspace names');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('tells refusals from failures that may pass', () => {
    expect(transientHubFailure({ status: 403 })).toBe(false);
    expect(transientHubFailure({ status: 503 })).toBe(true);
    expect(transientHubFailure(new Error('Unable to connect'))).toBe(true);
  });
});
