/**
 * A large file's chunk list travels as an edit of the version the other side holds. When the hub
 * no longer holds it (another agent changed the file meanwhile), the agent sends the list whole
 * at once, and the concurrent edit is kept side by side like any other.
 */
import { afterEach, expect, it } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../src/core/hash.ts';
import { cleanup, startAgent, startHub, waitConverged, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

/** `bytes` with 4 KiB of new random bytes at `at`. */
function withRegion(bytes: Buffer, at: number): Buffer {
  const out = Buffer.from(bytes);
  randomBytes(4096).copy(out, at);
  return out;
}

it('sends a stale edit whole, and keeps both versions of the concurrent change', async () => {
  const hub = startHub();
  const a = await startAgent(hub);
  const dirA = a.tree.root;
  const stateB = join(dirA, '..', `state-b-${Math.random().toString(36).slice(2)}`);
  const b = await startAgent(hub, { stateDir: stateB });
  const dirB = b.tree.root;
  // About 130 chunks: long enough a list to travel as an edit.
  const first = randomBytes(8 * 1024 * 1024);
  writeFileSync(join(dirA, 'big.bin'), first);
  await waitConverged([dirA, dirB]);
  await b.stop();
  const fromB = withRegion(first, 2 * 1024 * 1024);
  const fromA = withRegion(first, 6 * 1024 * 1024);
  writeFileSync(join(dirB, 'big.bin'), fromB);
  const head = (await hub.store.changesSince('test', 0, 1)).head;
  writeFileSync(join(dirA, 'big.bin'), fromA);
  await waitUntil(async () => (await hub.store.changesSince('test', 0, 1)).head > head, 'A to push');
  const again = await startAgent(hub, { dir: dirB, stateDir: stateB });
  await waitConverged([dirA, dirB]);
  const copies = readdirSync(dirA).filter((n) => n.startsWith('big.conflict-'));
  expect(copies).toEqual([expect.stringContaining(again.agentId)]);
  expect(sha256Hex(readFileSync(join(dirA, 'big.bin')))).toBe(sha256Hex(fromA));
  expect(sha256Hex(readFileSync(join(dirA, copies[0]!)))).toBe(sha256Hex(fromB));
  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  expect(metrics).not.toContain('stale-chunk-base');
}, 120_000);
