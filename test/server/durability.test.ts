/**
 * The hub makes a push's chunks durable before it commits the entries that name them or answers:
 * one flush pass per push, however many chunks it carries, and a file under a chunk's name (or a
 * pack under its own) only once its bytes are flushed.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeEnvelope, makeFrame } from '../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';
import { createServerMetrics } from '../../src/metrics/server-metrics.ts';
import { createServer } from '../../src/server/app.ts';
import { JOURNAL_MAX_BYTES } from '../../src/server/chunk-journal.ts';
import { listen, startEmbeddedServer, stopListening } from '../../src/server/start.ts';
import { FolderChunkStore } from '../../src/server/store/chunks-fs.ts';
import { SqliteStore } from '../../src/server/store/sqlite.ts';
import type { CommitOutcome, CommitRequest } from '../../src/server/store/store.ts';
import { cleanup, onCleanup, tempDir } from '../helpers/harness.ts';

afterEach(cleanup);

const AGENT = '0a1b2c3d';

/**
 * What happened, in order: each chunk put, each flush begun and finished, each flush of a file or
 * a folder to disk (with how many chunk files and packs were under their names then), each commit.
 */
type Event =
  | 'put'
  | 'flush'
  | 'flushed'
  | { sync: 'file' | 'folder'; named: number }
  | { commit: number; journaled: number };

/** Chunk files and packs under their own names (not temporary ones) in a chunk folder. */
function namedChunks(root: string): number {
  return readdirSync(root, { recursive: true, withFileTypes: true }).filter(
    (d) => d.isFile() && /^[0-9a-f]{64}(\.z)?$|\.pack$/.test(d.name),
  ).length;
}

/** The events with each run of equal ones written once (so many puts, or many flushes, read as one). */
function runsOf(events: readonly Event[]): Event[] {
  return events.filter((event, i) => i === 0 || JSON.stringify(event) !== JSON.stringify(events[i - 1]));
}

class RecordingChunks extends FolderChunkStore {
  constructor(
    root: string,
    readonly events: Event[],
  ) {
    super(root, {
      syncPath: async (path, what) => {
        events.push({ sync: what, named: namedChunks(root) });
        const handle = await open(path, what === 'file' ? 'r+' : 'r');
        await handle.sync();
        await handle.close();
      },
    });
  }
  override async put(hash: string, bytes: Uint8Array): Promise<void> {
    this.events.push('put');
    await super.put(hash, bytes);
  }
  override async flush(): Promise<void> {
    this.events.push('flush');
    await super.flush();
    this.events.push('flushed');
  }
}

class RecordingStore extends SqliteStore {
  /** Commits that fail before their transaction commits (a full disk, say). */
  failCommits = 0;
  constructor(
    file: string,
    private readonly chunks: RecordingChunks,
  ) {
    super(file);
  }
  override async commit(request: CommitRequest): Promise<CommitOutcome> {
    if (this.failCommits > 0) {
      this.failCommits--;
      this.chunks.events.push({ commit: this.chunks.unflushed, journaled: -1 });
      throw new Error('disk full');
    }
    // The chunks still waiting for their flush when the commit starts, and how many of them the
    // commit carries in its own transaction: every one that waits must be among them.
    this.chunks.events.push({ commit: this.chunks.unflushed, journaled: request.journal?.length ?? 0 });
    return super.commit(request);
  }
}

function startRecordingHub() {
  const data = tempDir('warmsync-hub-');
  const events: Event[] = [];
  const chunks = new RecordingChunks(join(data, 'chunks'), events);
  const store = new RecordingStore(join(data, 'warmsync.db'), chunks);
  const metrics = createServerMetrics({ chunkStoreBytes: () => 0, connectedAgents: () => 0 });
  const sync = createServer({ store, chunks, metrics });
  const { server, url } = listen(sync, { port: 0 });
  onCleanup(async () => {
    await stopListening(sync, server);
    await store.close();
  });
  return { url, events, chunks, store, root: join(data, 'chunks') };
}

/** The chunk files and the commit's journal rows, once a hub is done with them. */
async function settled(hub: { chunks: FolderChunkStore; store: SqliteStore }, within = 10_000) {
  const started = Date.now();
  while (hub.chunks.unflushed > 0 || (await hub.store.chunkJournal.pending()).length > 0) {
    if (Date.now() - started > within) throw new Error('the journaled chunks never reached the folder');
    await Bun.sleep(5);
  }
}

/**
 * A push of one file cut into `count` chunks of about `partBytes` each, all sent with it. By
 * default the chunks hold more than a journaled push may (JOURNAL_MAX_BYTES): they go through the
 * chunk folder's flush.
 */
function manyChunkPush(count: number, partBytes = Math.ceil((2 * JOURNAL_MAX_BYTES) / count)) {
  const parts = Array.from({ length: count }, (_, i) =>
    new TextEncoder().encode(`part ${i} `.padEnd(partBytes, String.fromCharCode(97 + (i % 26)))),
  );
  const hashes = parts.map((p) => sha256Hex(p));
  const change = {
    path: 'many.txt',
    vector: { [AGENT]: 1 },
    content: {
      kind: 'file',
      hash: fileHashFromChunks(hashes),
      size: parts.reduce((n, p) => n + p.length, 0),
      exec: false,
      chunks: hashes.map((h, i) => [h, parts[i]!.length]),
    },
  };
  return Object.assign(
    encodeEnvelope(
      { agent: AGENT, changes: [change] },
      parts.map((p, i) => makeFrame(hashes[i]!, p)),
    ),
    { parts, hashes },
  );
}

const push = (url: string, body: Uint8Array<ArrayBuffer>) =>
  fetch(`${url}/v1/workspaces/test/push`, { method: 'POST', body });

describe("a push's chunks", () => {
  it('are flushed in one pass, after the last is stored and before the commit that names them', async () => {
    const hub = startRecordingHub();
    const body = manyChunkPush(50);
    const reply = await push(hub.url, body);
    expect(reply.status).toBe(200);
    const { results } = (await reply.json()) as { results: Array<{ status: string }> };
    expect(results.map((r) => r.status)).toEqual(['accepted']);
    // 50 chunks: one pack, flushed before it is under its name; its folder (and the root, which
    // gained the packs' folder) flushed after.
    expect(hub.events.filter((e) => e === 'put')).toHaveLength(50);
    expect(hub.events.slice(50)).toEqual([
      'flush',
      { sync: 'file', named: 0 },
      { sync: 'folder', named: 1 },
      { sync: 'folder', named: 1 },
      'flushed',
      { commit: 0, journaled: 0 },
    ]);
    expect(readdirSync(join(hub.root, 'packs'))).toHaveLength(1);
    const reader = new FolderChunkStore(hub.root);
    for (const [i, hash] of body.hashes.entries()) expect(await reader.get(hash)).toEqual(body.parts[i]!);
  });

  it('of a small push are flushed file by file, each before it is under its name', async () => {
    const hub = startRecordingHub();
    const body = manyChunkPush(3);
    const reply = await push(hub.url, body);
    expect(reply.status).toBe(200);
    expect(runsOf(hub.events)).toEqual([
      'put',
      'flush',
      { sync: 'file', named: 0 },
      { sync: 'folder', named: 3 },
      'flushed',
      { commit: 0, journaled: 0 },
    ]);
    expect(hub.events.filter((e) => typeof e === 'object' && 'sync' in e && e.sync === 'file')).toHaveLength(
      3,
    );
    expect(existsSync(join(hub.root, 'packs'))).toBe(false);
    const reader = new FolderChunkStore(hub.root);
    for (const [i, hash] of body.hashes.entries()) expect(await reader.get(hash)).toEqual(body.parts[i]!);
  });

  it('of an edit-sized push are made durable by its commit, and go into the folder after it', async () => {
    const hub = startRecordingHub();
    const body = manyChunkPush(3, 1000);
    const reply = await push(hub.url, body);
    expect(reply.status).toBe(200);
    const { results } = (await reply.json()) as { results: Array<{ status: string }> };
    expect(results.map((r) => r.status)).toEqual(['accepted']);
    await settled(hub);
    // One flush of the database's log for the three chunks and their entry; the folder's after.
    expect(runsOf(hub.events)).toEqual([
      'put',
      { commit: 3, journaled: 3 },
      'flush',
      { sync: 'file', named: 0 },
      { sync: 'folder', named: 3 },
      'flushed',
    ]);
    // A reader of the folder alone (another process) finds them under their names.
    const reader = new FolderChunkStore(hub.root);
    for (const [i, hash] of body.hashes.entries()) expect(await reader.get(hash)).toEqual(body.parts[i]!);
  });

  it('of an edit-sized push whose commit fails are flushed in the folder before the failure is answered', async () => {
    const hub = startRecordingHub();
    hub.store.failCommits = 1;
    const reply = await push(hub.url, manyChunkPush(3, 1000));
    expect(reply.status).toBe(500);
    // Not left staged: the hub may answer "present" for them, and the agent name them unsent.
    expect(runsOf(hub.events)).toEqual([
      'put',
      { commit: 3, journaled: -1 },
      'flush',
      { sync: 'file', named: 0 },
      { sync: 'folder', named: 3 },
      'flushed',
    ]);
    expect(hub.chunks.unflushed).toBe(0);
  });

  it('that a hub had journaled and not yet moved when it stopped are in the folder once it starts again', async () => {
    const data = tempDir('warmsync-hub-');
    // A folder flush that never ends: the hub stops (and its unflushed files are lost) before it does.
    class StuckChunks extends FolderChunkStore {
      override flush(): Promise<void> {
        return new Promise(() => {});
      }
    }
    const chunks = new StuckChunks(join(data, 'chunks'));
    const store = new SqliteStore(join(data, 'warmsync.db'));
    const metrics = createServerMetrics({ chunkStoreBytes: () => 0, connectedAgents: () => 0 });
    const sync = createServer({ store, chunks, metrics });
    const first = listen(sync, { port: 0 });
    const body = manyChunkPush(3, 1000);
    // Answered without waiting for the folder: the commit made the chunks durable.
    const reply = await push(first.url, body);
    expect(reply.status).toBe(200);
    // Stopped the way a crash stops it: nothing is moved on the way out.
    await first.server.stop(true);
    await store.close();
    // What a power loss takes: the chunks never flushed, held in the stopped hub's memory only.
    const root = join(data, 'chunks');
    expect(readdirSync(root, { recursive: true })).toEqual([]);

    const hub = startEmbeddedServer({ dataDir: data, port: 0 });
    onCleanup(() => hub.stop());
    const answer = await fetch(`${hub.url}/v1/chunks/missing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hashes: body.hashes }),
    });
    expect(await answer.json()).toEqual({ missing: [] });
    const reader = new FolderChunkStore(root);
    for (const [i, hash] of body.hashes.entries()) expect(await reader.get(hash)).toEqual(body.parts[i]!);
    expect(await hub.store.chunkJournal.pending()).toEqual([]);
  });

  it('of a push that commits nothing (chunks sent ahead) are flushed before it is answered', async () => {
    const hub = startRecordingHub();
    const bytes = new TextEncoder().encode('sent ahead of its commit');
    const body = encodeEnvelope({ agent: AGENT, changes: [] }, [makeFrame(sha256Hex(bytes), bytes)]);
    expect((await push(hub.url, body)).status).toBe(200);
    expect(runsOf(hub.events)).toEqual([
      'put',
      'flush',
      { sync: 'file', named: 0 },
      { sync: 'folder', named: 1 },
      'flushed',
    ]);
    expect(hub.chunks.unflushed).toBe(0);
  });
});

describe("the hub's database", () => {
  it('flushes every commit to disk (synchronous=FULL), so an answered push survives a power loss', async () => {
    const store = new SqliteStore(join(tempDir('warmsync-hub-'), 'warmsync.db'));
    onCleanup(() => store.close());
    // The pragma is per connection: read it on the store's own (2 is FULL, 1 NORMAL).
    const db = (store as unknown as { db: { query(sql: string): { get(): unknown } } }).db;
    expect(db.query('PRAGMA synchronous').get()).toEqual({ synchronous: 2 });
  });

  it('writes audit rows without a flush of their own, and commits stay at FULL after them', async () => {
    const store = new SqliteStore(join(tempDir('warmsync-hub-'), 'warmsync.db'));
    onCleanup(() => store.close());
    const db = (store as unknown as { db: { query(sql: string): { get(): unknown } } }).db;
    const seen: unknown[] = [];
    const exec = (store as unknown as { db: { exec(sql: string): void } }).db;
    const original = exec.exec.bind(exec);
    exec.exec = (sql: string) => {
      seen.push(sql.trim());
      original(sql);
    };
    await store.audit([
      { workspace: 'w', agent: 'a', op: 'push', path: 'x', bytes: 1, durationMs: 1, detail: '' },
    ]);
    expect(seen).toEqual(['PRAGMA synchronous = NORMAL;', 'PRAGMA synchronous = FULL;']);
    expect(db.query('PRAGMA synchronous').get()).toEqual({ synchronous: 2 });
    expect(db.query('SELECT count(*) AS n FROM audit').get()).toEqual({ n: 1 });
  });
});

describe('FolderChunkStore', () => {
  const chunk = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return { hash: sha256Hex(bytes), bytes };
  };

  it('serves a chunk at once, but puts it under its name only once flushed', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root);
    const { hash, bytes } = chunk('staged');
    await store.put(hash, bytes);
    expect(await store.get(hash)).toEqual(bytes);
    expect(await store.size(hash)).toBe(bytes.length);
    expect(existsSync(join(root, hash.slice(0, 2), hash))).toBe(false);
    // Another process (a replica sharing the folder, or this hub after a crash) sees nothing yet.
    expect(await new FolderChunkStore(root).has(hash)).toBe(false);
    await store.flush();
    expect(existsSync(join(root, hash.slice(0, 2), hash))).toBe(true);
    expect(await new FolderChunkStore(root).get(hash)).toEqual(bytes);
    expect(store.unflushed).toBe(0);
  });

  it('writes a large pass as one pack, which another process reads', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root);
    const chunks = Array.from({ length: 20 }, (_, i) => chunk(`chunk ${i}`));
    for (const { hash, bytes } of chunks) await store.put(hash, bytes);
    await store.flush();
    expect(store.unflushed).toBe(0);
    expect(namedChunks(root)).toBe(1);
    const reader = new FolderChunkStore(root);
    for (const { hash, bytes } of chunks) {
      expect(await reader.has(hash)).toBe(true);
      expect(await reader.size(hash)).toBe(bytes.length);
      expect(await reader.get(hash)).toEqual(bytes);
    }
    expect(reader.sizeBytes()).toBe(store.sizeBytes());
  });

  it('resolves a flush only once every chunk put before it is durable, also those an earlier flush took', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root);
    const first = chunk('first');
    const second = chunk('second');
    await store.put(first.hash, first.bytes);
    const earlier = store.flush();
    await store.put(second.hash, second.bytes);
    await store.flush();
    const reader = new FolderChunkStore(root);
    expect(await reader.get(first.hash)).toEqual(first.bytes);
    expect(await reader.get(second.hash)).toEqual(second.bytes);
    await earlier;
  });
});
