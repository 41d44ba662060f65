/** Temporary files that agents killed mid-write leave behind are cleared; nothing else is. */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROBE_SUFFIX, tempName, tempNameStem } from '../../src/core/temp-name.ts';
import { cleanup, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

const sleepers: Array<ReturnType<typeof Bun.spawn>> = [];

afterEach(async () => {
  for (const child of sleepers.splice(0)) {
    child.kill('SIGKILL');
    await child.exited;
  }
  await cleanup();
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = Bun.spawn(['true']);
  await child.exited;
  return child.pid;
}

describe('leftover temporary files', () => {
  it('removes those of a dead agent at start, keeps a live writer’s until it is dead and old', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-tree-');
    mkdirSync(join(dir, 'src'));
    const dead = join(dir, 'src', tempName(tempNameStem(await deadPid(), 'a1b2c3'), 7));
    writeFileSync(dead, 'half a remote version');
    // An agent killed while it probed how the folder compares names.
    const probe = join(dir, `${tempName(tempNameStem(await deadPid(), 'b1b2c3'), 1)}${PROBE_SUFFIX}`);
    writeFileSync(probe, '');
    const sleeper = Bun.spawn(['sleep', '600']);
    sleepers.push(sleeper);
    const live = join(dir, tempName(tempNameStem(sleeper.pid, 'd4e5f6'), 1));
    writeFileSync(live, 'a write in flight');
    // Names that only look alike are a user's files.
    const userFiles = [
      join(dir, '.warmsync-tmp-notes.txt'),
      join(dir, `${tempNameStem(12345, 'a1b2c3')}1.bak`),
    ];
    for (const file of userFiles) writeFileSync(file, 'mine');
    await startAgent(hub, { dir });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(probe)).toBe(false);
    expect(existsSync(live)).toBe(true);
    for (const file of userFiles) expect(existsSync(file)).toBe(true);
    // Its writer dies and its file is older than a write can leave it: a later scan clears it.
    sleeper.kill('SIGKILL');
    await sleeper.exited;
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(live, old, old);
    await waitUntil(() => !existsSync(live), 'the rescan to remove the dead writer’s file');
    for (const file of userFiles) expect(existsSync(file)).toBe(true);
  });
});
