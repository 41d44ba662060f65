/**
 * A first sync pushed in slices: each slice's chunks go up while the slice before it commits, so
 * the push of every slice after the first carries its changes alone, and the mirror still gets
 * every file whole.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { cleanup, startAgent, startHub, tempDir, waitConverged } from '../helpers/harness.ts';

afterEach(cleanup);

const FILES = 300;
const SLICE = 50;

/** Files of distinct content, so that every slice has chunks of its own to send. */
function tree(): string {
  const dir = tempDir('warmsync-tree-');
  for (let i = 0; i < FILES; i++) {
    mkdirSync(join(dir, `d${i % 10}`), { recursive: true });
    writeFileSync(join(dir, `d${i % 10}`, `f${i}.txt`), `${`line ${i} `.repeat(200)}\n`);
  }
  return dir;
}

describe('a first sync in slices', () => {
  it("sends each later slice's chunks ahead of its push, and the mirror gets every file", async () => {
    const hub = startHub();
    const mirror = await startAgent(hub);
    const pushed: Array<{ paths: number; bytes: number }> = [];
    const source = await startAgent(hub, {
      dir: tree(),
      pushSlice: SLICE,
      onPushed: (event) => pushed.push({ paths: event.paths.length, bytes: event.bytes }),
    });
    await waitConverged([source.tree.root, mirror.tree.root]);
    expect(pushed.map((p) => p.paths).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(FILES);
    expect(pushed.length).toBeGreaterThanOrEqual(FILES / SLICE);
    // The first slice sends its own chunks; every later one found them on the hub already.
    expect(pushed[0]!.bytes).toBeGreaterThan(0);
    expect(pushed.slice(1).map((p) => p.bytes)).toEqual(pushed.slice(1).map(() => 0));
  }, 60_000);

  it('pushes a slice whole when its chunks could not be sent ahead', async () => {
    const hub = startHub();
    const mirror = await startAgent(hub);
    const pushed: number[] = [];
    // Small slices of small files: their pushes carry their chunks in one envelope, so only the
    // uploads sent ahead are chunk-only (a short header, not compressed), and the proxy cuts each.
    let cuts = 0;
    const proxy = await startCuttingProxy(Number(new URL(hub.url).port), (data) => {
      if (!data.includes('"changes":[]')) return 'pass';
      cuts++;
      return 'cut';
    });
    const source = await startAgent(proxy, {
      dir: tree(),
      pushSlice: SLICE,
      onPushed: (event) => pushed.push(event.bytes),
    });
    await waitConverged([source.tree.root, mirror.tree.root]);
    expect(pushed.length).toBeGreaterThanOrEqual(FILES / SLICE);
    expect(cuts).toBeGreaterThanOrEqual(FILES / SLICE - 1);
    expect(pushed.every((bytes) => bytes > 0)).toBe(true);
  }, 60_000);
});
