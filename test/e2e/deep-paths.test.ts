/**
 * Paths nested deeper than the path bound (MAX_PATH_DEPTH names) stay on the machine that has
 * them, reported there, while every other edit keeps flowing both ways. Bun's recursive watcher
 * reports each folder of a chain that is made below a watched folder once for every folder above
 * it that it registers on the way, so a peer writing a chain of 2,000 folders saw its own events,
 * a user's edit included, queued behind hundreds of thousands of repeats for minutes.
 */
import { afterAll, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEnvelope } from '../../src/core/frames.ts';
import { MAX_PATH_DEPTH } from '../../src/core/paths.ts';
import { fileChange } from '../helpers/file-change.ts';
import { cleanup, onCleanup, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterAll(cleanup);

/** A path of `names` nested folders, each named `d`. */
const chainOf = (names: number) => Array.from({ length: names }, () => 'd').join('/');

describe('paths deeper than the bound', () => {
  it('keep a chain of 2,000 folders on its own machine, reported, while edits flow both ways', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-deep-');
    // Made before its agent starts, as a checkout or an unpacked archive would leave it.
    const chain = chainOf(2000);
    mkdirSync(join(dir, chain), { recursive: true });
    writeFileSync(join(dir, chain, 'leaf.txt'), 'deep');
    writeFileSync(join(dir, 'shallow.txt'), 'near the top');
    const source = await startAgent(hub, { dir });
    const peer = await startAgent(hub);
    onCleanup(() => {
      // rm(1) removes the chain in a fraction of the time rmSync takes.
      Bun.spawnSync(['rm', '-rf', dir, peer.tree.root]);
    });
    await waitUntil(() => existsSync(join(peer.tree.root, 'shallow.txt')), 'the shallow file at the peer');

    const deepest = chainOf(MAX_PATH_DEPTH);
    await waitUntil(() => existsSync(join(peer.tree.root, deepest)), 'the chain up to the bound at the peer');

    writeFileSync(join(peer.tree.root, 'from-peer.txt'), 'an edit after the chain');
    await waitUntil(
      () => existsSync(join(source.tree.root, 'from-peer.txt')),
      "the peer's edit at the source",
    );
    writeFileSync(join(source.tree.root, 'from-source.txt'), 'and one the other way');
    await waitUntil(
      () => existsSync(join(peer.tree.root, 'from-source.txt')),
      "the source's edit at the peer",
    );
    const tooDeep = chainOf(MAX_PATH_DEPTH + 1);
    await waitUntil(
      () => source.problems().some((p) => p.path === tooDeep && p.code === 'invalid-path:too-deep'),
      'the source to report the first folder past the bound',
    );
    expect(existsSync(join(peer.tree.root, tooDeep))).toBe(false);
    expect(existsSync(join(source.tree.root, chain, 'leaf.txt'))).toBe(true);
  }, 120_000);

  it('leave the rest of a catch-up page to apply when the hub stored one before the bound', async () => {
    const hub = startHub();
    const tooDeep = `${chainOf(MAX_PATH_DEPTH)}/x`;
    const push = async (path: string, text: string) => {
      const { change, frame } = fileChange(path, text, { a1a1a1a1: 1 });
      const body = encodeEnvelope({ agent: 'a1a1a1a1', changes: [change] }, [frame]);
      expect((await fetch(`${hub.url}/v1/workspaces/test/push`, { method: 'POST', body })).status).toBe(200);
    };
    await push('before.txt', 'first');
    // Straight into the store, as a hub without the bound stored it.
    await hub.store.commit({
      workspace: 'test',
      agent: 'a1a1a1a1',
      changes: [{ path: tooDeep, vector: { a1a1a1a1: 1 }, content: { kind: 'dir' } }],
    });
    await push('after.txt', 'last');
    const agent = await startAgent(hub);
    await waitUntil(() => existsSync(join(agent.tree.root, 'after.txt')), 'the entry after the deep one');
    expect(readFileSync(join(agent.tree.root, 'before.txt'), 'utf8')).toBe('first');
    expect(agent.problems()).toContainEqual(
      expect.objectContaining({ path: tooDeep, code: 'invalid-path:too-deep' }),
    );
    expect(existsSync(join(agent.tree.root, 'd'))).toBe(false);
  });
});
