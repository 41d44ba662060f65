/** A 100 MB file with one byte changed re-sends one chunk, not the file. */
import { afterEach, expect, it } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CHUNK_PARAMS } from '../../src/core/chunk.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { cleanup, startAgent, startHub, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

const sumOf = (path: string) => {
  try {
    return sha256Hex(readFileSync(path));
  } catch {
    return '';
  }
};

it('re-sends only the damaged chunk of a 100 MB file', async () => {
  const hub = startHub();
  const a = await startAgent(hub);
  const b = await startAgent(hub);
  const size = 100 * 1024 * 1024;
  const original = randomBytes(size);
  writeFileSync(join(a.tree.root, 'big.bin'), original);
  const wantFirst = sha256Hex(original);
  await waitUntil(
    () => sumOf(join(b.tree.root, 'big.bin')) === wantFirst,
    'the 100 MB file on the peer',
    60_000,
  );
  const status = async () =>
    (await (await fetch(`${hub.url}/v1/status`)).json()) as { bytesIn: number; bytesOut: number };
  const before = await status();
  // Flip one byte in the middle, in place, as a binary editor would.
  const fd = openSync(join(a.tree.root, 'big.bin'), 'r+');
  writeSync(fd, Buffer.from([original[size / 2]! ^ 0xff]), 0, 1, size / 2);
  closeSync(fd);
  original[size / 2] = original[size / 2]! ^ 0xff;
  const wantSecond = sha256Hex(original);
  await waitUntil(
    () => sumOf(join(b.tree.root, 'big.bin')) === wantSecond,
    'the one-byte edit on the peer',
    60_000,
  );
  const after = await status();
  const uploaded = after.bytesIn - before.bytesIn;
  const downloaded = after.bytesOut - before.bytesOut;
  // One chunk each way (at most the maximum chunk size) plus the manifest of the file's chunk list.
  const chunkList = Math.ceil(size / DEFAULT_CHUNK_PARAMS.minSize) * 80;
  expect(uploaded).toBeLessThan(DEFAULT_CHUNK_PARAMS.maxSize + chunkList);
  expect(downloaded).toBeLessThan(2 * (DEFAULT_CHUNK_PARAMS.maxSize + chunkList));
  expect(uploaded).toBeLessThan(size / 50);
}, 120_000);
