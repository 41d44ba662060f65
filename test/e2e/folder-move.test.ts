/**
 * A folder renamed on one agent: the peer moves its own copy in one rename when that copy holds
 * exactly the synced files, unchanged, and writes path by path otherwise; either way the trees
 * converge and nothing local is lost.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startAgent, startHub, waitConverged, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

/** A folder `lib` of `n` files in two subfolders. */
function writeLib(dir: string, n: number): void {
  for (const sub of ['a', 'b']) mkdirSync(join(dir, 'lib', sub), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, 'lib', i % 2 ? 'a' : 'b', `f${i}.txt`), `file ${i}\n`);
}

async function syncedPair(n: number) {
  const hub = startHub();
  const a = await startAgent(hub, {
    ignore: { ignoreGitDir: true, ignoreNodeModules: true, extraPatterns: ['*.log'] },
  });
  writeLib(a.tree.root, n);
  const b = await startAgent(hub, {
    ignore: { ignoreGitDir: true, ignoreNodeModules: true, extraPatterns: ['*.log'] },
  });
  await waitConverged([a.tree.root, b.tree.root]);
  return { hub, a, b };
}

describe('a folder moved on a peer', () => {
  it('is moved here in one rename, keeping the local files', async () => {
    const { a, b } = await syncedPair(40);
    const inode = statSync(join(b.tree.root, 'lib', 'a', 'f1.txt')).ino;
    renameSync(join(a.tree.root, 'lib'), join(a.tree.root, 'src'));
    await waitUntil(() => existsSync(join(b.tree.root, 'src', 'a', 'f1.txt')), 'the move to reach the peer');
    await waitConverged([a.tree.root, b.tree.root]);
    expect(existsSync(join(b.tree.root, 'lib'))).toBe(false);
    expect(statSync(join(b.tree.root, 'src', 'a', 'f1.txt')).ino).toBe(inode);
    // The moved files are known as synced: an edit there is pushed as usual.
    writeFileSync(join(b.tree.root, 'src', 'b', 'f0.txt'), 'edited after the move\n');
    await waitUntil(
      () => readFileSync(join(a.tree.root, 'src', 'b', 'f0.txt'), 'utf8') === 'edited after the move\n',
      'the edit to come back',
    );
  });

  it('is written path by path when the local folder holds a file the batch does not know', async () => {
    const { a, b } = await syncedPair(20);
    writeFileSync(join(b.tree.root, 'lib', 'a', 'local.log'), 'ignored, never synced\n');
    renameSync(join(a.tree.root, 'lib'), join(a.tree.root, 'src'));
    await waitUntil(() => existsSync(join(b.tree.root, 'src', 'a', 'f1.txt')), 'the move to reach the peer');
    await waitUntil(() => !existsSync(join(b.tree.root, 'lib', 'a', 'f1.txt')), 'the old files to go');
    expect(readFileSync(join(b.tree.root, 'lib', 'a', 'local.log'), 'utf8')).toBe('ignored, never synced\n');
    expect(existsSync(join(b.tree.root, 'src', 'a', 'local.log'))).toBe(false);
  });
});
