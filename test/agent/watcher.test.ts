/**
 * The tree watcher on a real folder: after a watcher error, a change made while no watch was in
 * place is found by a rescan asked for once the watch is back, not left to the periodic one.
 */
import { afterEach, expect, it } from 'bun:test';
import type { FSWatcher } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TreeWatcher, WATCH_RESTART_MS } from '../../src/agent/watcher.ts';
import { cleanup, onCleanup, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

it('after a watcher error, a rescan is asked for once the watch is back', async () => {
  const dir = tempDir();
  const missed: number[] = [];
  const paths: string[] = [];
  const watcher = new TreeWatcher(dir, {
    poll: false,
    log: () => {},
    onPath: (name) => paths.push(name),
    onMissed: () => missed.push(Date.now()),
  });
  onCleanup(() => watcher.close());
  expect(await watcher.start()).toBe(true);

  const failedAt = Date.now();
  (watcher as unknown as { watcher: FSWatcher }).watcher.emit('error', new Error('watch limit reached'));
  expect(missed).toHaveLength(1);
  // Written while no watch is in place: no event can name it.
  writeFileSync(join(dir, 'meanwhile.txt'), 'written while the watch was down\n');

  await waitUntil(() => missed.length === 2, 'a rescan once the watch is back', 3 * WATCH_RESTART_MS);
  expect(missed[1]! - failedAt).toBeGreaterThanOrEqual(WATCH_RESTART_MS - 5);
  // The watch is back: the next change has its event.
  writeFileSync(join(dir, 'after.txt'), 'written once the watch was back\n');
  await waitUntil(() => paths.includes('after.txt'), 'an event for a file written after the restart');
});
