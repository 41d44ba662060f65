/**
 * A hub that goes back: restored from an older copy of its data folder, or started on a new one.
 * Agents notice (a new epoch, or a head below their cursor), read the workspace again from zero,
 * and send back what the hub lost; no agent skips an entry written after the restore.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startAgent, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';
import { freePort, startCli, stopAllCli, waitHealthy } from '../helpers/processes.ts';

afterEach(async () => {
  await cleanup();
  await stopAllCli();
});

/** A hub as its own process on a fixed port, so it can be stopped and started on other data. */
async function hubProcess(data: string) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let running = startCli(['serve', '--data', data, '--port', String(port), '--no-auth']);
  await waitHealthy(url);
  return {
    url,
    async restart(between: () => void) {
      await running.kill('SIGTERM');
      between();
      running = startCli(['serve', '--data', data, '--port', String(port), '--no-auth']);
      await waitHealthy(url);
    },
  };
}

const write = (root: string, name: string, text: string) => writeFileSync(join(root, name), text);
const has = (root: string, name: string, text: string) =>
  existsSync(join(root, name)) && readFileSync(join(root, name), 'utf8') === text;

describe('a hub that goes back', () => {
  it('restored from an older copy: agents send back what it lost and miss nothing written after', async () => {
    const data = tempDir('warmsync-hubdata-');
    const backup = tempDir('warmsync-backup-');
    const hub = await hubProcess(data);
    const a = await startAgent(hub);
    const b = await startAgent(hub);
    write(a.tree.root, 'one.txt', 'one v1');
    write(a.tree.root, 'two.txt', 'two v1');
    await waitConverged([a.tree.root, b.tree.root], 'the first files');
    await hub.restart(() => cpSync(data, backup, { recursive: true }));

    write(a.tree.root, 'one.txt', 'one v2');
    write(a.tree.root, 'three.txt', 'three, written after the backup');
    rmSync(join(a.tree.root, 'two.txt'));
    await waitConverged([a.tree.root, b.tree.root], 'the edits after the backup');

    await hub.restart(() => {
      rmSync(data, { recursive: true, force: true });
      cpSync(backup, data, { recursive: true });
    });
    write(b.tree.root, 'four.txt', 'four, written after the restore');

    await waitUntil(
      () => has(a.tree.root, 'four.txt', 'four, written after the restore'),
      'the agent whose cursor was ahead to get the file written after the restore',
      30_000,
    );
    const late = await startAgent(hub);
    await waitConverged([a.tree.root, b.tree.root, late.tree.root], 'every agent, a new one too', 30_000);
    expect(has(late.tree.root, 'one.txt', 'one v2')).toBe(true);
    expect(has(late.tree.root, 'three.txt', 'three, written after the backup')).toBe(true);
    expect(existsSync(join(late.tree.root, 'two.txt'))).toBe(false);
    for (const root of [a.tree.root, b.tree.root])
      expect(readFileSync(join(root, 'one.txt'), 'utf8')).toBe('one v2');
  }, 120_000);

  it('started on an empty data folder: agents fill it again', async () => {
    const data = tempDir('warmsync-hubdata-');
    const hub = await hubProcess(data);
    const a = await startAgent(hub);
    const b = await startAgent(hub);
    write(a.tree.root, 'kept.txt', 'kept');
    write(b.tree.root, 'also.txt', 'also kept');
    await waitConverged([a.tree.root, b.tree.root], 'the first files');

    await hub.restart(() => rmSync(join(data, 'warmsync.db'), { force: true }));
    await waitUntil(
      async () => {
        const page = (await (await fetch(`${hub.url}/v1/workspaces/test/changes?since=0`)).json()) as {
          entries: Array<{ path: string }>;
        };
        const paths = page.entries.map((e) => e.path);
        return paths.includes('kept.txt') && paths.includes('also.txt');
      },
      'the agents to send their files to the new hub',
      30_000,
    );
    const late = await startAgent(hub);
    await waitConverged([a.tree.root, b.tree.root, late.tree.root], 'a new agent to get everything', 30_000);
    expect(has(late.tree.root, 'kept.txt', 'kept')).toBe(true);
  }, 120_000);
});
