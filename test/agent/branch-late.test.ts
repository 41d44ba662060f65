/**
 * Git lets go of its index before it moves HEAD, and on a busy machine the agent's cycle can
 * start in between. A real `git read-tree -m -u` (a checkout's tree and index, HEAD left alone)
 * stands for that moment; the branch reader stands for git moving HEAD while the cycle observes.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../helpers/git.ts';
import { cleanup, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

function writeFiles(root: string, count: number, tag: string): void {
  for (let i = 0; i < count; i++) {
    mkdirSync(join(root, `mod${i % 5}`), { recursive: true });
    writeFileSync(join(root, `mod${i % 5}`, `file${i}.ts`), `export const value${i} = '${tag}-${i}';\n`);
  }
}

describe('a checkout whose HEAD moves after the cycle started', () => {
  it('is pushed as the branch HEAD moved to', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-repo-');
    git(dir, 'init', '-q', '-b', 'main');
    writeFiles(dir, 200, 'main');
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'main');
    git(dir, 'checkout', '-q', '-b', 'feature');
    writeFiles(dir, 200, 'feature');
    git(dir, 'commit', '-qam', 'feature');
    git(dir, 'checkout', '-q', 'main');
    // The first read after arming is the cycle's own, before it observes: HEAD has not moved yet.
    let phase: 'main' | 'armed' | 'moved' = 'main';
    const readBranch = async () => {
      if (phase === 'armed') {
        phase = 'moved';
        return 'main';
      }
      return phase === 'moved' ? 'feature' : 'main';
    };
    const lines: string[] = [];
    await startAgent(hub, { dir, readBranch, log: (line) => lines.push(line) });
    await waitUntil(
      async () => (await hub.store.changesSince('test', 0, 1000)).entries.length >= 205,
      'the first sync',
    );
    const before = (await hub.store.changesSince('test', 0, 1000)).head;
    const seen = lines.length;
    phase = 'armed';
    git(dir, 'read-tree', '-m', '-u', 'feature');
    await waitUntil(
      async () => (await hub.store.changesSince('test', before, 1000)).entries.length >= 200,
      'the checkout on the hub',
    );
    const entries = (await hub.store.changesSince('test', before, 1000)).entries;
    expect(entries.map((e) => e.branch)).toEqual(entries.map(() => 'feature'));
    const switches = lines.slice(seen).filter((l) => l.startsWith('branch switch'));
    expect(switches).toEqual(['branch switch main -> feature']);
  });
});
