/**
 * A chunk folder's packs: a large pass of chunks is written as one pack, which another process
 * sharing the folder finds, a damaged chunk in it is not served, and a collection frees what no
 * one wants without losing what someone does.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../src/core/hash.ts';
import { FolderChunkStore } from '../../src/server/store/chunks-fs.ts';
import { packedChunk } from '../helpers/chunk-files.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

afterEach(cleanup);

const HOUR = 60 * 60 * 1000;

function chunks(prefix: string, count = 12) {
  return Array.from({ length: count }, (_, i) => {
    const bytes = new TextEncoder().encode(`${prefix} chunk ${i} `.repeat(i + 1));
    return { hash: sha256Hex(bytes), bytes };
  });
}

async function stored(store: FolderChunkStore, list: ReturnType<typeof chunks>): Promise<void> {
  for (const { hash, bytes } of list) await store.put(hash, bytes);
  await store.flush();
}

const packsIn = (root: string) => readdirSync(join(root, 'packs')).filter((n) => n.endsWith('.pack'));

/** Sets every pack's mtime `ms` in the past, as if written then. */
function agePacks(root: string, ms: number): void {
  const then = new Date(Date.now() - ms);
  for (const name of packsIn(root)) utimesSync(join(root, 'packs', name), then, then);
}

describe('chunk packs in the folder', () => {
  it('are found by a store that was open before they were written (a replica sharing the folder)', async () => {
    const root = tempDir('warmsync-chunks-');
    const replica = new FolderChunkStore(root);
    const writer = new FolderChunkStore(root);
    const list = chunks('shared');
    await stored(writer, list);
    for (const { hash, bytes } of list) {
      expect(await replica.size(hash)).toBe(bytes.length);
      expect(await replica.get(hash)).toEqual(bytes);
    }
    const more = chunks('later');
    await stored(writer, more);
    expect(await replica.get(more[3]!.hash)).toEqual(more[3]!.bytes);
    expect(await replica.has(more[5]!.hash)).toBe(true);
  });

  it('do not serve a damaged chunk, and take it again from the next agent that uploads it', async () => {
    const root = tempDir('warmsync-chunks-');
    const list = chunks('damaged');
    await stored(new FolderChunkStore(root), list);
    const victim = list[4]!;
    const { path, offset } = packedChunk(root, victim.hash)!;
    const pack = readFileSync(path);
    pack[offset]! ^= 0x20;
    writeFileSync(path, pack);

    const store = new FolderChunkStore(root);
    expect(await store.get(victim.hash)).toBeUndefined();
    expect(await store.has(victim.hash)).toBe(false);
    // The pack's other chunks are sound.
    expect(await store.get(list[5]!.hash)).toEqual(list[5]!.bytes);
    await store.put(victim.hash, victim.bytes);
    await store.flush();
    expect(await store.get(victim.hash)).toEqual(victim.bytes);
    expect(await new FolderChunkStore(root).get(victim.hash)).toEqual(victim.bytes);
  });

  it('are swept whole when no chunk in them is wanted, and only once old', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root);
    const list = chunks('unwanted');
    await stored(store, list);
    const young = store.sweep(() => false, Date.now() - HOUR);
    expect(young.removed).toEqual([]);
    expect(packsIn(root)).toHaveLength(1);

    agePacks(root, 2 * HOUR);
    const before = store.sizeBytes();
    const old = store.sweep(() => false, Date.now() - HOUR);
    expect(old.removed.sort()).toEqual(list.map((c) => c.hash).sort());
    expect(old.bytes).toBe(before);
    expect(packsIn(root)).toEqual([]);
    expect(store.sizeBytes()).toBe(0);
    expect(await store.has(list[0]!.hash)).toBe(false);
  });

  it('are written again with the wanted chunks alone when some are unwanted', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root);
    const list = chunks('mixed');
    await stored(store, list);
    agePacks(root, 2 * HOUR);
    const [oldPack] = packsIn(root);
    const wanted = new Set(list.slice(0, 6).map((c) => c.hash));
    const report = store.sweep((hash) => wanted.has(hash), Date.now() - HOUR);
    expect(report.removed.sort()).toEqual(
      list
        .slice(6)
        .map((c) => c.hash)
        .sort(),
    );
    expect(report.bytes).toBeGreaterThan(0);
    expect(packsIn(root)).toHaveLength(1);
    expect(packsIn(root)).not.toContain(oldPack);
    const reader = new FolderChunkStore(root);
    for (const { hash, bytes } of list.slice(0, 6)) expect(await reader.get(hash)).toEqual(bytes);
    for (const { hash } of list.slice(6)) expect(await reader.has(hash)).toBe(false);
    // The store that swept serves the kept chunks from the new pack.
    expect(await store.get(list[2]!.hash)).toEqual(list[2]!.bytes);
  });

  it('stay whole while one of their chunks was touched (a push about to name it)', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root);
    const list = chunks('touched');
    await stored(store, list);
    agePacks(root, 2 * HOUR);
    store.touch(list[7]!.hash);
    expect(store.sweep(() => false, Date.now() - HOUR).removed).toEqual([]);
    expect(packsIn(root)).toHaveLength(1);
  });

  it('still serve a chunk to a replica whose pack was rewritten by another replica', async () => {
    const root = tempDir('warmsync-chunks-');
    const writer = new FolderChunkStore(root);
    const list = chunks('rewritten');
    await stored(writer, list);
    const replica = new FolderChunkStore(root);
    expect(await replica.has(list[1]!.hash)).toBe(true);
    agePacks(root, 2 * HOUR);
    writer.sweep((hash) => hash !== list[0]!.hash, Date.now() - HOUR);
    expect(await replica.get(list[1]!.hash)).toEqual(list[1]!.bytes);
    expect(await replica.size(list[2]!.hash)).toBe(list[2]!.bytes.length);
  });

  it('are not read when a writer stopped midway, and what it left is swept once old', async () => {
    const root = tempDir('warmsync-chunks-');
    const list = chunks('partial');
    await stored(new FolderChunkStore(root), list);
    const [name] = packsIn(root);
    const whole = readFileSync(join(root, 'packs', name!));
    // A temporary pack cut short (the writer died), and a pack whose end was lost.
    writeFileSync(join(root, 'packs', `x${name}.tmp`), whole.subarray(0, 100));
    writeFileSync(join(root, 'packs', `y${name}`), whole.subarray(0, whole.length - 10));
    const store = new FolderChunkStore(root);
    for (const { hash, bytes } of list) expect(await store.get(hash)).toEqual(bytes);
    expect(store.sizeBytes()).toBe(whole.length);
    agePacks(root, 2 * HOUR);
    for (const file of readdirSync(join(root, 'packs'))) {
      const then = new Date(Date.now() - 2 * HOUR);
      utimesSync(join(root, 'packs', file), then, then);
    }
    store.sweep(() => true, Date.now() - HOUR);
    expect(readdirSync(join(root, 'packs'))).toEqual([name!]);
  });

  it('leave nothing half written when a flush fails, and the chunks are flushed by the next one', async () => {
    const root = tempDir('warmsync-chunks-');
    let failures = 1;
    const store = new FolderChunkStore(root, {
      syncPath: async (path, what) => {
        if (what === 'file' && failures-- > 0) throw new Error(`EIO: flushing ${path}`);
      },
    });
    const list = chunks('retried');
    for (const { hash, bytes } of list) await store.put(hash, bytes);
    await expect(store.flush()).rejects.toThrow(/EIO/);
    expect(readdirSync(join(root, 'packs'))).toEqual([]);
    expect(store.unflushed).toBe(list.length);
    expect(await store.get(list[3]!.hash)).toEqual(list[3]!.bytes);
    await store.flush();
    expect(store.unflushed).toBe(0);
    expect(packsIn(root)).toHaveLength(1);
    const reader = new FolderChunkStore(root);
    for (const { hash, bytes } of list) expect(await reader.get(hash)).toEqual(bytes);
  });
});
