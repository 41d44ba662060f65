/**
 * An edit made while an agent's first full cycle is under way (after its scan read the tree,
 * while it pushes and applies) is seen by the watcher at once, not left to the next safety
 * rescan: an agent restarted while its user keeps editing loses no deletion and no edit.
 */
import { afterEach, expect, it } from 'bun:test';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exists } from '../../src/core/entry.ts';
import type { RunningServer } from '../../src/server/start.ts';
import { cleanup, createAgent, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

/** No safety rescan within a test: only the watcher can see an edit the first scan missed. */
const NO_RESCAN = 600_000;

/** Whether the hub's newest entry for `path` exists (undefined: the hub has none). */
async function onHub(hub: RunningServer, path: string): Promise<boolean | undefined> {
  const entries = (await hub.store.changesSince('test', 0, 1000)).entries;
  const entry = entries.filter((e) => e.path === path).pop();
  return entry && exists(entry.content);
}

it('a file deleted and one written while the first cycle pushes reach the hub', async () => {
  const hub = startHub();
  const dir = tempDir();
  writeFileSync(join(dir, 'note.txt'), 'pushed by the first cycle\n');
  let edited = false;
  const agent = createAgent(hub, {
    dir,
    rescanMinMs: NO_RESCAN,
    // The first push is answered: the tree has been read, the cycle is not done yet.
    onPushed: () => {
      if (edited) return;
      edited = true;
      rmSync(join(dir, 'note.txt'));
      writeFileSync(join(dir, 'late.txt'), 'written while the first cycle ran\n');
    },
  });
  await agent.start();
  expect(edited).toBe(true);
  await waitUntil(
    async () => (await onHub(hub, 'note.txt')) === false && (await onHub(hub, 'late.txt')) === true,
    'the deletion and the new file to reach the hub',
    5_000,
  );
}, 30_000);

it('a note deleted while a restarted agent pushes what changed while it was down is deleted on the hub', async () => {
  const hub = startHub();
  const [dir, state] = [tempDir(), tempDir('warmsync-state-')];
  writeFileSync(join(dir, 'note.txt'), 'a note\n');
  writeFileSync(join(dir, 'other.txt'), 'another note\n');
  const first = await startAgent(hub, { dir, stateDir: state, rescanMinMs: NO_RESCAN });
  await waitUntil(async () => (await onHub(hub, 'note.txt')) === true, 'the notes to reach the hub');
  await first.stop();
  // Edited while the agent is down: the first cycle after the restart pushes it.
  writeFileSync(join(dir, 'other.txt'), 'another note, edited while the agent was down\n');

  let deleted = false;
  const again = createAgent(hub, {
    dir,
    stateDir: state,
    rescanMinMs: NO_RESCAN,
    onPushed: () => {
      if (deleted) return;
      deleted = true;
      rmSync(join(dir, 'note.txt'));
    },
  });
  await again.start();
  expect(deleted).toBe(true);
  await waitUntil(
    async () => (await onHub(hub, 'note.txt')) === false,
    'the deletion of the note to reach the hub',
    5_000,
  );
}, 30_000);
