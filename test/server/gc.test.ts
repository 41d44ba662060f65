/**
 * Chunk garbage collection: chunks no live entry, no version kept in history and no snapshot
 * names go once they are older than the grace period; everything an agent still needs stays, and
 * a new agent still syncs.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectGarbage } from '../../src/server/gc.ts';
import { FolderChunkStore } from '../../src/server/store/chunks-fs.ts';
import { manifestChunks } from '../../src/server/store/credentials.ts';
import { chunkFiles } from '../helpers/chunk-files.ts';
import { cleanup, startAgent, startHub, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

/** Ages every chunk file, as if written an hour and a half ago. */
function age(root: string): void {
  const then = new Date(Date.now() - 90 * 60 * 1000);
  for (const file of chunkFiles(root)) utimesSync(file, then, then);
}

describe('chunk garbage collection', () => {
  it('keeps the chunks of replaced and deleted versions while history keeps them, then removes them', async () => {
    const data = join(tempDir('warmsync-hub-'), 'data');
    const retentionMs = 4000;
    const hub = startHub({ dataDir: data, gcIntervalMs: 0, historyDays: retentionMs / 86_400_000 });
    const chunksRoot = join(data, 'chunks');
    const a = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'kept.txt'), 'kept, still live');
    writeFileSync(join(a.tree.root, 'edited.txt'), 'first version');
    writeFileSync(join(a.tree.root, 'deleted.txt'), 'about to go');
    await waitUntil(async () => (await hub.store.liveChunks()).size === 3, 'three live chunks');
    writeFileSync(join(a.tree.root, 'edited.txt'), 'second version');
    rmSync(join(a.tree.root, 'deleted.txt'));
    await waitUntil(
      async () => (await hub.store.entry('test', 'deleted.txt'))?.content.kind === 'deleted',
      'the deletion on the hub',
    );
    const replacedAt = Date.now();
    // The first version of edited.txt and deleted.txt are in history: still needed.
    expect((await hub.store.liveChunks()).size).toBe(4);
    // Small pushes' chunks reach the folder a little after their commit (see chunk-journal.ts).
    await hub.sync.moveJournaled();
    expect(chunkFiles(chunksRoot)).toHaveLength(4);

    // Young chunks stay whatever names them: a push in flight may be about to.
    const young = await collectGarbage(hub.store, new FolderChunkStore(chunksRoot));
    expect(young.removed).toBe(0);
    age(chunksRoot);
    const within = await collectGarbage(hub.store, new FolderChunkStore(chunksRoot), {
      historyDays: retentionMs / 86_400_000,
    });
    if (Date.now() - replacedAt < retentionMs) expect(within).toMatchObject({ removed: 0, live: 4 });

    await new Promise((r) => setTimeout(r, Math.max(0, replacedAt + retentionMs + 200 - Date.now())));
    const reply = await fetch(`${hub.url}/v1/gc`, { method: 'POST' });
    expect(reply.status).toBe(200);
    const report = (await reply.json()) as { removed: number; live: number; expiredVersions: number };
    expect(report).toMatchObject({ removed: 2, live: 2, expiredVersions: 2 });
    expect(chunkFiles(chunksRoot)).toHaveLength(2);
    expect(await (await fetch(`${hub.url}/metrics`)).text()).toMatch(/^warmsync_chunks_collected_total 2$/m);

    const late = await startAgent(hub);
    await waitConverged([a.tree.root, late.tree.root], 'a new agent after the collection');
  });

  it('keeps a chunk just answered present, so the push naming it next finds it', async () => {
    const data = join(tempDir('warmsync-hub-'), 'data');
    const hub = startHub({ dataDir: data, gcIntervalMs: 0 });
    const chunksRoot = join(data, 'chunks');
    const a = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'gone.txt'), 'soon unnamed');
    await waitUntil(async () => (await hub.store.liveChunks()).size === 1, 'one live chunk');
    rmSync(join(a.tree.root, 'gone.txt'));
    await waitUntil(
      async () => (await hub.store.entry('test', 'gone.txt'))?.content.kind === 'deleted',
      'the deletion on the hub',
    );
    await hub.sync.moveJournaled();
    age(chunksRoot);
    const [hash] = chunkFiles(chunksRoot).map((f) => f.slice(f.lastIndexOf('/') + 1).replace(/\.z$/, ''));
    const missing = await fetch(`${hub.url}/v1/chunks/missing`, {
      method: 'POST',
      body: JSON.stringify({ hashes: [hash] }),
    });
    expect(((await missing.json()) as { missing: string[] }).missing).toEqual([]);
    // History no longer keeps it (a retention of a microsecond): only the touch does.
    const report = await collectGarbage(hub.store, new FolderChunkStore(chunksRoot), { historyDays: 1e-11 });
    expect(report).toMatchObject({ removed: 0, live: 0, expiredVersions: 1 });
  });
});

describe('manifestChunks', () => {
  it('names every chunk of every package of a stored snapshot, which collection keeps', () => {
    const manifest = JSON.stringify({
      format: 2,
      lockHash: 'a'.repeat(64),
      platform: 'linux-x64-glibc',
      packages: [
        {
          path: 'node_modules/x',
          integrity: `sha512-${'A'.repeat(86)}==`,
          size: 3,
          chunks: [['b'.repeat(64), 3]],
        },
        { path: 'node_modules/y', integrity: `sha512-${'A'.repeat(86)}==`, size: 0, chunks: [] },
      ],
    });
    expect(manifestChunks(manifest)).toEqual(['b'.repeat(64)]);
  });
});
