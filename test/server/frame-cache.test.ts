/**
 * Compressed frames a push brought are served to the fetches that follow as they came, through
 * the same checks as any fetch: a chunk whose stored bytes are damaged is not served from them.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEnvelope, encodeEnvelope, makeFrame, openFrame } from '../../src/core/frames.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { FrameCache } from '../../src/server/frame-cache.ts';
import { storedChunkFile } from '../helpers/chunk-files.ts';
import { cleanup, startHub, tempDir } from '../helpers/harness.ts';
import { strongFrame, variedText } from '../helpers/zstd-text.ts';

afterEach(cleanup);

const AGENT = 'a1a1a1a1';

async function fetchOne(url: string, hash: string) {
  const reply = await fetch(`${url}/v1/chunks/fetch`, {
    method: 'POST',
    body: JSON.stringify({ want: [{ hash }] }),
  });
  return decodeEnvelope(new Uint8Array(await reply.arrayBuffer()));
}

describe('compressed frames kept for fetches', () => {
  it('serves a pushed frame as it came', async () => {
    const hub = startHub();
    const bytes = variedText('kept');
    const frame = strongFrame(bytes);
    expect(Buffer.from(makeFrame(frame.hash, bytes).payload).equals(Buffer.from(frame.payload))).toBe(false);
    const pushed = await fetch(`${hub.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent: AGENT, changes: [] }, [frame]),
    });
    expect(pushed.status).toBe(200);
    const { header, frames } = await fetchOne(hub.url, frame.hash);
    expect(header).toEqual({ missing: [] });
    expect(frames[0]!.encoding).toBe('zstd');
    expect(Buffer.from(frames[0]!.payload).equals(Buffer.from(frame.payload))).toBe(true);
    expect(openFrame(frames[0]!, () => undefined)).toEqual(bytes);
  });

  it('serves nothing from them for a chunk whose stored bytes are damaged', async () => {
    const dataDir = join(tempDir('warmsync-hub-'), 'data');
    const hub = startHub({ dataDir });
    const bytes = variedText('damaged');
    const frame = strongFrame(bytes);
    await fetch(`${hub.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent: AGENT, changes: [] }, [frame]),
    });
    writeFileSync(storedChunkFile(join(dataDir, 'chunks'), frame.hash), 'not the chunk');
    const { header, frames } = await fetchOne(hub.url, frame.hash);
    expect(header).toEqual({ missing: [frame.hash] });
    expect(frames).toEqual([]);
  });
});

describe('FrameCache', () => {
  const zstdFrame = (label: string, size: number) => ({
    hash: sha256Hex(new TextEncoder().encode(label)),
    encoding: 'zstd' as const,
    payload: new Uint8Array(size).fill(1),
  });

  it('keeps zstd frames only, and the newest within its bound', () => {
    const cache = new FrameCache(250);
    const [a, b, c] = [zstdFrame('a', 100), zstdFrame('b', 100), zstdFrame('c', 100)];
    cache.remember({ ...a, encoding: 'raw' });
    expect(cache.compressed(a.hash)).toBeUndefined();
    for (const f of [a, b, c]) cache.remember(f);
    expect(cache.compressed(a.hash)).toBeUndefined();
    expect(cache.compressed(b.hash)?.payload).toEqual(b.payload);
    expect(cache.compressed(c.hash)?.payload).toEqual(c.payload);
    expect(cache.size).toBe(200);
    cache.remember(zstdFrame('huge', 300));
    expect(cache.size).toBe(200);
  });

  it('keeps a copy, not a view of the buffer the frame came in', () => {
    const cache = new FrameCache();
    const body = new Uint8Array(1000).fill(7);
    const frame = { hash: sha256Hex(body), encoding: 'zstd' as const, payload: body.subarray(10, 20) };
    cache.remember(frame);
    body.fill(0);
    const kept = cache.compressed(frame.hash)!;
    expect([...kept.payload]).toEqual(new Array(10).fill(7));
    expect(kept.payload.buffer.byteLength).toBe(10);
  });
});
