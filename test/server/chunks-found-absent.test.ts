/**
 * A chunk `has` found absent is put without a second look at the disk (a push after the agent
 * asked which chunks the hub lacks), and stays right when another writer of the same folder (a
 * second replica) stored it in between: chunks are named by their content.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compress } from '../../src/core/compress.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { FolderChunkStore } from '../../src/server/store/chunks-fs.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { variedText } from '../helpers/zstd-text.ts';

afterEach(cleanup);

/** Two stores on one chunk folder, as two replicas share it, and one chunk neither holds yet. */
function twoWriters(label: string) {
  const root = tempDir('warmsync-chunks-');
  const bytes = variedText(label);
  return {
    root,
    first: new FolderChunkStore(root, { fsync: false }),
    second: new FolderChunkStore(root, { fsync: false }),
    bytes,
    hash: sha256Hex(bytes),
  };
}

/** Puts a chunk (as its zstd frame when `framed`) and flushes it. */
async function putFlushed(store: FolderChunkStore, hash: string, bytes: Uint8Array, framed = false) {
  await store.put(hash, bytes, framed ? compress(bytes) : undefined);
  await store.flush();
}

const fileOf = (root: string, hash: string) => join(root, hash.slice(0, 2), hash);

describe('a chunk found absent', () => {
  it('is put without looking again, and reads back right though another writer stored it meanwhile', async () => {
    const { root, first, second, bytes, hash } = twoWriters('found absent');
    expect(await first.has(hash)).toBe(false);
    // The other replica stores it raw between the question and the push.
    await putFlushed(second, hash, bytes);
    const before = first.sizeBytes();
    await putFlushed(first, hash, bytes, true);
    // Written, not looked up: the store counts its own file.
    expect(first.sizeBytes()).toBeGreaterThan(before);
    expect(existsSync(fileOf(root, hash))).toBe(true);
    expect(existsSync(`${fileOf(root, hash)}.z`)).toBe(true);
    for (const store of [first, second, new FolderChunkStore(root, { fsync: false })]) {
      expect(Buffer.from((await store.get(hash))!).equals(Buffer.from(bytes))).toBe(true);
      expect(await store.size(hash)).toBe(bytes.length);
    }
  });

  it('is looked up again once put: a second put of it writes nothing', async () => {
    const { first, bytes, hash } = twoWriters('put twice');
    expect(await first.has(hash)).toBe(false);
    await putFlushed(first, hash, bytes, true);
    const stored = first.sizeBytes();
    await putFlushed(first, hash, bytes, true);
    expect(first.sizeBytes()).toBe(stored);
  });

  it('is not taken as absent by a put that no question came before: a chunk stored by another writer is kept', async () => {
    const { first, second, bytes, hash } = twoWriters('not asked');
    await putFlushed(second, hash, bytes, true);
    const before = first.sizeBytes();
    await putFlushed(first, hash, bytes, true);
    expect(first.sizeBytes()).toBe(before);
    expect(await first.has(hash)).toBe(true);
  });
});
