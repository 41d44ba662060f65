/**
 * History and restore through the real command line, run in a synced folder whose agent is a real
 * process (the command finds its hub and workspace from it); and tombstone expiry, after which a
 * lagging agent still applies every deletion it missed and keeps the edits the hub never saw.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryResponse } from '../../src/core/settle-protocol.ts';
import { cleanup, startAgent, startHub, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

/** A hub, an agent process on a folder (default state folder under its own XDG_STATE_HOME) and an in-process peer. */
async function syncedFolder() {
  const hub = startHub();
  const xdg = tempDir('warmsync-xdg-');
  const dir = realpathSync(tempDir('warmsync-tree-'));
  const agent = startCli(
    ['agent', dir, '--server', hub.url, '--workspace', 'test', '--no-prewarm', '--rescan-ms', '500'],
    { env: { XDG_STATE_HOME: xdg } },
  );
  await waitUntil(() => agent.output().includes('watching'), 'the agent to watch', 30_000);
  const peer = await startAgent(hub);
  /** Runs `warmsync ARGS` in `cwd` (default: the synced folder), as the agent's user would. */
  const cli = async (args: string[], cwd = dir) => {
    const run = startCli(args, { env: { XDG_STATE_HOME: xdg, WARMSYNC_SERVER: undefined }, cwd });
    const code = await run.process.exited;
    return { code, output: await run.finished() };
  };
  return { hub, dir, peer: peer.tree.root, cli };
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');

describe('warmsync restore', () => {
  it('brings a deleted file back on every agent, from the synced folder or a folder in it', async () => {
    const { dir, peer, cli } = await syncedFolder();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'notes.txt'), 'keep me\n');
    writeFileSync(join(dir, 'sub', 'deep.txt'), 'deep\n');
    await waitConverged([dir, peer]);
    rmSync(join(dir, 'notes.txt'));
    rmSync(join(peer, 'sub', 'deep.txt'));
    await waitUntil(
      () => !existsSync(join(peer, 'notes.txt')) && !existsSync(join(dir, 'sub', 'deep.txt')),
      'both deletions everywhere',
    );
    const top = await cli(['restore', 'notes.txt']);
    expect(top.code).toBe(0);
    expect(top.output).toMatch(/^notes\.txt: version \d+ restored as version \d+/);
    const nested = await cli(['restore', 'deep.txt'], join(dir, 'sub'));
    expect(nested.code).toBe(0);
    for (const d of [dir, peer]) {
      await waitUntil(
        () => existsSync(join(d, 'notes.txt')) && existsSync(join(d, 'sub', 'deep.txt')),
        'the restores',
      );
      expect(read(d, 'notes.txt')).toBe('keep me\n');
      expect(read(d, 'sub/deep.txt')).toBe('deep\n');
    }
  });

  it('lists the versions an overwrite replaced and brings back one by number or by time', async () => {
    const { dir, peer, cli } = await syncedFolder();
    const times: string[] = [];
    for (const text of ['one\n', 'two\n', 'three\n']) {
      writeFileSync(join(peer, 'a.txt'), text);
      await waitUntil(
        () => existsSync(join(dir, 'a.txt')) && read(dir, 'a.txt') === text,
        `${text.trim()} on the folder`,
      );
      await new Promise((r) => setTimeout(r, 50));
      times.push(new Date().toISOString());
    }
    const listed = await cli(['history', 'a.txt', '--json']);
    expect(listed.code).toBe(0);
    const history = JSON.parse(listed.output) as HistoryResponse;
    expect(history.versions.map((v) => [v.kind, v.size, v.current])).toEqual([
      ['file', 6, true],
      ['file', 4, false],
      ['file', 4, false],
    ]);
    expect(history.retentionDays).toBe(7);
    const first = history.versions[2]!.version;
    const byNumber = await cli(['restore', 'a.txt', '--version', String(first)]);
    expect(byNumber.code).toBe(0);
    await waitConverged([dir, peer]);
    expect(read(peer, 'a.txt')).toBe('one\n');
    // Just after "two" arrived: the version held then.
    const byTime = await cli(['restore', 'a.txt', '--before', times[1]!]);
    expect(byTime.code).toBe(0);
    await waitUntil(() => read(peer, 'a.txt') === 'two\n', 'the version from before the time');
    await waitConverged([dir, peer]);
    const text = await cli(['history', 'a.txt']);
    expect(text.output).toContain('current');
  });

  it('says so, in one line and exit 1, when the hub keeps no such version', async () => {
    const { cli } = await syncedFolder();
    const run = await cli(['restore', 'never.txt', '--version', '3']);
    expect(run.code).toBe(1);
    expect(run.output.trim()).toMatch(/^warmsync: the hub answered 404: never\.txt has no version 3/);
  });
});

describe('tombstone expiry', () => {
  it('lets an agent that was away past retention apply the deletions it missed, and keep its own edits', async () => {
    const retentionMs = 1500;
    const hub = startHub({ gcIntervalMs: 0, historyDays: retentionMs / 86_400_000 });
    const a = await startAgent(hub);
    const stateB = tempDir('warmsync-state-');
    const b = await startAgent(hub, { stateDir: stateB });
    const [dirA, dirB] = [a.tree.root, b.tree.root];
    for (const name of ['gone.txt', 'edited.txt', 'kept.txt']) writeFileSync(join(dirA, name), `${name}\n`);
    await waitConverged([dirA, dirB]);
    await b.stop();
    // B edits a file A deletes: the edit must survive the expired deletion.
    writeFileSync(join(dirB, 'edited.txt'), 'edited while away\n');
    rmSync(join(dirA, 'gone.txt'));
    rmSync(join(dirA, 'edited.txt'));
    writeFileSync(join(dirA, 'new.txt'), 'made while B was away\n');
    await waitUntil(
      async () => (await hub.store.entry('test', 'new.txt')) !== undefined,
      "A's changes on the hub",
    );
    await new Promise((r) => setTimeout(r, retentionMs + 200));
    const gc = (await (await fetch(`${hub.url}/v1/gc`, { method: 'POST' })).json()) as {
      expiredTombstones: number;
    };
    expect(gc.expiredTombstones).toBe(2);
    expect(await hub.store.entry('test', 'gone.txt')).toBeUndefined();
    expect((await hub.store.changesSince('test', 0, 1)).floor).toBeGreaterThan(0);

    await startAgent(hub, { dir: dirB, stateDir: stateB });
    await waitUntil(() => !existsSync(join(dirB, 'gone.txt')), 'B to apply the expired deletion');
    await waitConverged([dirA, dirB]);
    expect(read(dirA, 'edited.txt')).toBe('edited while away\n');
    expect(read(dirB, 'new.txt')).toBe('made while B was away\n');
    expect(existsSync(join(dirA, 'gone.txt'))).toBe(false);
    expect((await hub.store.entry('test', 'gone.txt'))?.content.kind ?? 'none').not.toBe('file');
  });

  it('keeps the tombstones a connected agent has not read past', async () => {
    const hub = startHub({ gcIntervalMs: 0, historyDays: 1 / 86_400_000 });
    const a = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'x.txt'), 'x');
    await waitUntil(async () => (await hub.store.entry('test', 'x.txt')) !== undefined, 'x on the hub');
    await a.pause();
    // A paused agent reports no cursor past what it applied: the deletion made meanwhile stays.
    await hub.store.commit({
      workspace: 'test',
      agent: 'cccccccc',
      changes: [{ path: 'x.txt', content: { kind: 'deleted' }, vector: { [a.agentId]: 99 } }],
    });
    await new Promise((r) => setTimeout(r, 50));
    const gc = (await (await fetch(`${hub.url}/v1/gc`, { method: 'POST' })).json()) as {
      expiredTombstones: number;
    };
    expect(gc.expiredTombstones).toBe(0);
    expect((await hub.store.entry('test', 'x.txt'))?.content.kind).toBe('deleted');
  });
});
