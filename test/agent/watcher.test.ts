/**
 * The tree watcher on a real folder: after a watcher error, a change made while no watch was in
 * place is found by a rescan asked for once the watch is back, not left to the periodic one; and
 * an event's kind tells a file renamed into place (as the agent writes) from one changed in place.
 */
import { afterEach, expect, it } from 'bun:test';
import type { FSWatcher } from 'node:fs';
import { closeSync, openSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TreeWatcher, WATCH_RESTART_MS, type WatchEventKind } from '../../src/agent/watcher.ts';
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

it('reports a rename into place as a rename, and a write or a times change right after it as a change', async () => {
  const dir = tempDir();
  const events: Array<[string, WatchEventKind]> = [];
  const watcher = new TreeWatcher(dir, {
    poll: false,
    log: () => {},
    onPath: (name, kind) => events.push([name, kind]),
    onMissed: () => {},
  });
  onCleanup(() => watcher.close());
  expect(await watcher.start()).toBe(true);
  const kindsOf = (name: string) => events.filter(([n]) => n === name).map(([, kind]) => kind);

  // As the agent writes: a temporary file renamed over the path; then, at once, the same size
  // written in place (a.txt) or only the times set back (b.txt). Whatever the watcher does with
  // events close together, the change may not be reported as the rename alone.
  for (const name of ['a.txt', 'b.txt']) writeFileSync(join(dir, `.tmp-${name}`), 'written elsewhere');
  renameSync(join(dir, '.tmp-a.txt'), join(dir, 'a.txt'));
  const fd = openSync(join(dir, 'a.txt'), 'r+');
  writeSync(fd, 'WRITTEN', 0);
  closeSync(fd);
  renameSync(join(dir, '.tmp-b.txt'), join(dir, 'b.txt'));
  utimesSync(join(dir, 'b.txt'), 1, 1);
  writeFileSync(join(dir, 'done.txt'), 'x');
  await waitUntil(() => kindsOf('done.txt').length > 0, 'the last event');
  for (const name of ['a.txt', 'b.txt']) {
    const kinds = kindsOf(name);
    expect(kinds[0]).toBe('rename');
    expect(kinds.at(-1)).toBe('change');
  }
});
