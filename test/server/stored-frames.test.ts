/**
 * Chunks kept as the zstd frames pushes brought them in: smaller on disk, served as they are after
 * a restart, read back whole and verified, and a damaged one is still dropped and asked for again.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compress } from '../../src/core/compress.ts';
import { decodeEnvelope, encodeEnvelope, makeFrame, openFrame } from '../../src/core/frames.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import {
  ChunkUnreadableError,
  COMPRESSED_HEADER_BYTES,
  encodeCompressed,
} from '../../src/server/store/chunk-file.ts';
import { FolderChunkStore } from '../../src/server/store/chunks-fs.ts';
import { fileChange } from '../helpers/file-change.ts';
import { cleanup, startHub, tempDir } from '../helpers/harness.ts';
import { strongFrame, variedText } from '../helpers/zstd-text.ts';

afterEach(cleanup);

const AGENT = 'a1a1a1a1';
const MAGIC = Uint8Array.of(0x89, 0x57, 0x53, 0x5a, 0x0d, 0x0a, 0x1a, 0x0a);

const fileOf = (root: string, hash: string) => join(root, hash.slice(0, 2), hash);
const compressedFileOf = (root: string, hash: string) => `${fileOf(root, hash)}.z`;

/** A store in a new folder holding one chunk of `label`'s text, kept as its frame. */
async function keptChunk(label: string) {
  const root = tempDir('warmsync-chunks-');
  const store = new FolderChunkStore(root, { fsync: false });
  const bytes = variedText(label);
  const hash = sha256Hex(bytes);
  await store.put(hash, bytes, compress(bytes));
  await store.flush();
  return { root, store, bytes, hash, path: compressedFileOf(root, hash) };
}

/** Damages a file on disk: flips `mask` in its byte at `index` (from the end when negative). */
function flipByte(path: string, index: number, mask = 0xff): void {
  const file = new Uint8Array(readFileSync(path));
  file[index < 0 ? file.length + index : index]! ^= mask;
  writeFileSync(path, file);
}

describe('FolderChunkStore keeping zstd frames', () => {
  it('keeps a frame that saves space, and reads the chunk back whole and verified', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root, { fsync: false });
    const bytes = variedText('kept');
    const hash = sha256Hex(bytes);
    const zstd = compress(bytes);
    await store.put(hash, bytes, zstd);
    await store.flush();
    const onDisk = statSync(compressedFileOf(root, hash)).size;
    expect(onDisk).toBe(COMPRESSED_HEADER_BYTES + zstd.length);
    expect(onDisk).toBeLessThan(bytes.length / 2);
    expect(store.sizeBytes()).toBe(onDisk);

    // A store opened afresh knows nothing but the files.
    const reopened = new FolderChunkStore(root, { fsync: false });
    expect(reopened.sizeBytes()).toBe(onDisk);
    expect(await reopened.size(hash)).toBe(bytes.length);
    expect(await reopened.get(hash)).toEqual(bytes);
    const stored = await reopened.getStored(hash);
    expect(stored?.zstd).toEqual(zstd);
  });

  it('keeps the raw bytes when the frame saves nothing', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root, { fsync: false });
    const bytes = crypto.getRandomValues(new Uint8Array(4096));
    const hash = sha256Hex(bytes);
    await store.put(hash, bytes, compress(bytes));
    await store.flush();
    expect(new Uint8Array(readFileSync(fileOf(root, hash)))).toEqual(bytes);
    expect(existsSync(compressedFileOf(root, hash))).toBe(false);
    expect((await store.getStored(hash))?.zstd).toBeUndefined();
  });

  it('reads the raw chunks an earlier version wrote, and keeps them raw', async () => {
    const root = tempDir('warmsync-chunks-');
    const plain = variedText('plain', 50);
    // Raw bytes that look like a compressed file's header are still raw bytes under a raw name.
    const lookalike = new Uint8Array([...MAGIC, 0x10, 0, 0, 0, ...new Uint8Array(40).fill(3)]);
    for (const bytes of [plain, lookalike]) {
      const path = fileOf(root, sha256Hex(bytes));
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, bytes);
    }
    const store = new FolderChunkStore(root, { fsync: false });
    expect(store.sizeBytes()).toBe(plain.length + lookalike.length);
    for (const bytes of [plain, lookalike]) {
      const hash = sha256Hex(bytes);
      expect(await store.size(hash)).toBe(bytes.length);
      expect(await store.get(hash)).toEqual(bytes);
      expect((await store.getStored(hash))?.bytes).toEqual(bytes);
      // Pushed again as a frame: already stored, nothing is written twice.
      await store.put(hash, bytes, compress(bytes));
      await store.flush();
      expect(existsSync(compressedFileOf(root, hash))).toBe(false);
    }
  });

  it('keeps compressed chunks where an earlier version would not take them for damaged raw ones', async () => {
    const { root, bytes, hash } = await keptChunk('apart');
    // An earlier version reads only `<hash>`: it finds nothing there, and asks for the chunk.
    expect(existsSync(fileOf(root, hash))).toBe(false);
    expect(existsSync(compressedFileOf(root, hash))).toBe(true);
    // A raw copy such a version wrote beside it is read, swept and counted like the compressed one.
    writeFileSync(fileOf(root, hash), bytes);
    const reopened = new FolderChunkStore(root, { fsync: false });
    expect(reopened.sizeBytes()).toBe(statSync(compressedFileOf(root, hash)).size + bytes.length);
    expect(await reopened.get(hash)).toEqual(bytes);
    const swept = reopened.sweep(() => false, Date.now() + 60_000);
    expect(swept.removed).toEqual([hash]);
    expect(reopened.sizeBytes()).toBe(0);
    expect(await reopened.has(hash)).toBe(false);
  });

  it('drops a kept frame that no longer opens to the chunk', async () => {
    const { root, hash, path } = await keptChunk('torn');
    flipByte(path, -3);
    const reopened = new FolderChunkStore(root, { fsync: false });
    expect(await reopened.get(hash)).toBeUndefined();
    expect(await reopened.has(hash)).toBe(false);
  });

  it('drops a kept frame damaged on disk when it is read as the frame to send', async () => {
    const { store, hash, path } = await keptChunk('torn-frame');
    expect((await store.getStored(hash))?.zstd).toBeDefined();
    flipByte(path, COMPRESSED_HEADER_BYTES + 1, 0x01);
    expect(await store.getStored(hash)).toBeUndefined();
    expect(await store.has(hash)).toBe(false);
    expect(store.sizeBytes()).toBe(0);
  });
});

describe('FolderChunkStore reading kept frames with care', () => {
  it('finds a damaged length in the header before it answers the length', async () => {
    const { root, bytes, hash, path } = await keptChunk('length');
    flipByte(path, 8, 0x01); // the lowest byte of the length
    const reopened = new FolderChunkStore(root, { fsync: false });
    expect(await reopened.size(hash)).toBeUndefined();
    expect(existsSync(path)).toBe(false);
    expect(await reopened.has(hash)).toBe(false);
    // Sent again, it is stored again.
    await reopened.put(hash, bytes, compress(bytes));
    await reopened.flush();
    expect(await reopened.size(hash)).toBe(bytes.length);
  });

  it('keeps a whole file whose frame does not open here, and says so instead of answering missing', async () => {
    const { root, hash, path, bytes } = await keptChunk('unopened');
    // A file whose digest matches but whose frame this decoder cannot open (as a decoder fault would).
    writeFileSync(path, encodeCompressed(bytes.length, new TextEncoder().encode('x'.repeat(200))));
    const reopened = new FolderChunkStore(root, { fsync: false });
    await expect(reopened.get(hash)).rejects.toBeInstanceOf(ChunkUnreadableError);
    expect(existsSync(path)).toBe(true);
    expect(await reopened.has(hash)).toBe(true);
  });

  it('keeps a frame only when it is one zstd frame and nothing more', async () => {
    const root = tempDir('warmsync-chunks-');
    const store = new FolderChunkStore(root, { fsync: false });
    const bytes = variedText('trailing');
    const hash = sha256Hex(bytes);
    const frame = compress(bytes);
    const withTrailer = new Uint8Array(frame.length + 16);
    withTrailer.set(frame);
    await store.put(hash, bytes, withTrailer);
    await store.flush();
    expect(existsSync(compressedFileOf(root, hash))).toBe(false);
    expect(readFileSync(fileOf(root, hash)).equals(bytes)).toBe(true);
  });

  it('touches both files of a chunk, and sweeps them together or not at all', async () => {
    const { root, bytes, hash, path } = await keptChunk('twice');
    const raw = fileOf(root, hash);
    writeFileSync(raw, bytes);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(raw, old, old);
    utimesSync(path, old, old);
    const store = new FolderChunkStore(root, { fsync: false });
    store.touch(hash);
    const cutoff = Date.now() - 60_000;
    expect(statSync(raw).mtimeMs).toBeGreaterThan(cutoff);
    expect(statSync(path).mtimeMs).toBeGreaterThan(cutoff);
    // One file young: neither goes.
    utimesSync(raw, old, old);
    expect(store.sweep(() => false, cutoff)).toEqual({ removed: [], bytes: 0 });
    expect(existsSync(raw) && existsSync(path)).toBe(true);
    // Both old: both go, and the chunk is reported once.
    utimesSync(path, old, old);
    const swept = store.sweep(() => false, cutoff);
    expect(swept.removed).toEqual([hash]);
    expect(existsSync(raw) || existsSync(path)).toBe(false);
    expect(store.sizeBytes()).toBe(0);
  });
});

describe('the hub serving kept frames', () => {
  async function fetchOne(url: string, hash: string) {
    const reply = await fetch(`${url}/v1/chunks/fetch`, {
      method: 'POST',
      body: JSON.stringify({ want: [{ hash }] }),
    });
    return decodeEnvelope(new Uint8Array(await reply.arrayBuffer()));
  }

  it('serves a pushed frame as it came after a restart, without compressing it again', async () => {
    const dataDir = join(tempDir('warmsync-hub-'), 'data');
    const first = startHub({ dataDir });
    const bytes = variedText('restart');
    const frame = strongFrame(bytes);
    expect(Buffer.from(makeFrame(frame.hash, bytes).payload).equals(Buffer.from(frame.payload))).toBe(false);
    const pushed = await fetch(`${first.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent: AGENT, changes: [] }, [frame]),
    });
    expect(pushed.status).toBe(200);
    await first.stop();
    // The restarted hub's memory holds no frame: only the chunk folder can serve this one as it came.
    const second = startHub({ dataDir });
    const { header, frames } = await fetchOne(second.url, frame.hash);
    expect(header).toEqual({ missing: [] });
    expect(frames[0]!.encoding).toBe('zstd');
    expect(Buffer.from(frames[0]!.payload).equals(Buffer.from(frame.payload))).toBe(true);
    expect(openFrame(frames[0]!, () => undefined)).toEqual(bytes);
    expect(statSync(compressedFileOf(join(dataDir, 'chunks'), frame.hash)).size).toBeLessThan(bytes.length);
  });

  it('answers missing for a kept frame damaged on disk, so the agent sends the chunk again', async () => {
    const dataDir = join(tempDir('warmsync-hub-'), 'data');
    const first = startHub({ dataDir });
    const bytes = variedText('damaged-frame');
    const frame = strongFrame(bytes);
    await fetch(`${first.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent: AGENT, changes: [] }, [frame]),
    });
    await first.stop();
    flipByte(compressedFileOf(join(dataDir, 'chunks'), frame.hash), COMPRESSED_HEADER_BYTES + 20, 0x55);
    const second = startHub({ dataDir });
    const { header, frames } = await fetchOne(second.url, frame.hash);
    expect(header).toEqual({ missing: [frame.hash] });
    expect(frames).toEqual([]);
    const missing = await fetch(`${second.url}/v1/chunks/missing`, {
      method: 'POST',
      body: JSON.stringify({ hashes: [frame.hash] }),
    });
    expect(await missing.json()).toEqual({ missing: [frame.hash] });
  });

  it('commits and answers a push whose previous version cannot be read for its live delta', async () => {
    const dataDir = join(tempDir('warmsync-hub-'), 'data');
    const hub = startHub({ dataDir });
    const push = (header: object, frames: ReturnType<typeof makeFrame>[]) =>
      fetch(`${hub.url}/v1/workspaces/test/push`, { method: 'POST', body: encodeEnvelope(header, frames) });
    const first = fileChange('big.txt', new TextDecoder().decode(variedText('first')), { [AGENT]: 1 });
    expect((await push({ agent: AGENT, changes: [first.change] }, [first.frame])).status).toBe(200);
    await hub.sync.moveJournaled();
    const [firstHash, firstSize] = first.change.content.chunks[0]!;
    // Whole on disk, but its frame does not open here: the hub cannot make a delta against it.
    const garbage = new TextEncoder().encode('y'.repeat(300));
    writeFileSync(compressedFileOf(join(dataDir, 'chunks'), firstHash), encodeCompressed(firstSize, garbage));
    const second = fileChange('big.txt', new TextDecoder().decode(variedText('second')), { [AGENT]: 2 });
    // Sent raw, so that the hub makes the live frame itself, against the previous version.
    const raw = {
      hash: second.frame.hash,
      encoding: 'raw' as const,
      payload: new Uint8Array(openFrame(second.frame, () => undefined)),
    };
    const answer = await push({ agent: AGENT, changes: [second.change] }, [raw]);
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { results: { status: string }[] };
    expect(body.results.map((r) => r.status)).toEqual(['accepted']);
  });
});
