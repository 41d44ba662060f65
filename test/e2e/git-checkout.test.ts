/**
 * Checkouts reach the peers as soon as git is done, and never before: the agent takes a
 * checkout's files once git lets go of its index lock (the removal is a watcher event, not a
 * timer), and nothing git is still writing while it holds the lock is pushed. Real git, a real
 * hub on a loopback port, two real agents.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanup,
  startAgent,
  startHub,
  tempDir,
  treeDiff,
  treesEqual,
  waitUntil,
} from '../helpers/harness.ts';

afterEach(cleanup);

function git(cwd: string, ...args: string[]): string {
  const result = Bun.spawnSync(['git', ...args], { cwd });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

/** A repository with two commits: `first` (ten files), `second` (some changed, removed, added). */
function repoWithTwoCommits(): { dir: string; first: string; second: string } {
  const dir = tempDir('warmsync-repo-');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  mkdirSync(join(dir, 'src'));
  for (let i = 0; i < 10; i++) writeFileSync(join(dir, 'src', `m${i}.ts`), `export const m${i} = ${i};\n`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'first');
  const first = git(dir, 'rev-parse', 'HEAD').trim();
  for (let i = 0; i < 4; i++)
    writeFileSync(join(dir, 'src', `m${i}.ts`), `export const m${i} = ${i * 100};\n`);
  git(dir, 'rm', '-q', 'src/m8.ts', 'src/m9.ts');
  mkdirSync(join(dir, 'src', 'added'));
  for (let i = 0; i < 3; i++)
    writeFileSync(join(dir, 'src', 'added', `n${i}.ts`), `export const n${i} = 'n';\n`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'second');
  const second = git(dir, 'rev-parse', 'HEAD').trim();
  git(dir, 'checkout', '-q', '--detach', first);
  return { dir, first, second };
}

describe('git checkouts', () => {
  it('bring every file of the commit to the peer, removals included, and back again', async () => {
    const hub = startHub();
    const { dir, first, second } = repoWithTwoCommits();
    await startAgent(hub, { dir });
    const peer = await startAgent(hub);
    await waitUntil(() => treesEqual(dir, peer.tree.root), 'the first commit on the peer');
    git(dir, 'checkout', '-q', '--detach', second);
    await waitUntil(() => treesEqual(dir, peer.tree.root), 'the second commit on the peer', 15_000).catch(
      (error) => {
        throw new Error(`${error.message}\n${treeDiff(dir, peer.tree.root)}`);
      },
    );
    expect(readFileSync(join(peer.tree.root, 'src/m0.ts'), 'utf8')).toBe('export const m0 = 0;\n');
    git(dir, 'checkout', '-q', '--detach', first);
    await waitUntil(() => treesEqual(dir, peer.tree.root), 'the first commit again on the peer');
  });

  it('push nothing git writes while it holds its index lock, and everything once it lets go', async () => {
    const hub = startHub();
    const { dir } = repoWithTwoCommits();
    await startAgent(hub, { dir });
    const peer = await startAgent(hub);
    await waitUntil(() => treesEqual(dir, peer.tree.root), 'the first commit on the peer');
    // Git at work: the lock first, then files written in pieces, with pauses longer than every
    // quiet time and than the interval of the source agent's rescans.
    const lock = join(dir, '.git', 'index.lock');
    writeFileSync(lock, '');
    writeFileSync(join(dir, 'src/m0.ts'), 'export const m0 =');
    writeFileSync(join(dir, 'src/half.ts'), 'export const ha');
    await Bun.sleep(2500);
    expect((await hub.store.entry('test', 'src/half.ts'))?.content).toBeUndefined();
    expect(readFileSync(join(peer.tree.root, 'src/m0.ts'), 'utf8')).toBe('export const m0 = 0;\n');
    writeFileSync(join(dir, 'src/m0.ts'), 'export const m0 = "done";\n');
    writeFileSync(join(dir, 'src/half.ts'), 'export const half = "done";\n');
    unlinkSync(lock);
    await waitUntil(
      () => readFileSync(join(peer.tree.root, 'src/m0.ts'), 'utf8') === 'export const m0 = "done";\n',
      'the finished file on the peer',
    );
    await waitUntil(() => treesEqual(dir, peer.tree.root), 'the whole tree on the peer');
    // The hub never held the half-written versions: one version of each path since the first sync.
    const history = await hub.store.history('test', 'src/m0.ts');
    expect(history.map((v) => (v.content.kind === 'file' ? v.content.size : -1))).toEqual([
      'export const m0 = "done";\n'.length,
      'export const m0 = 0;\n'.length,
    ]);
    expect((await hub.store.history('test', 'src/half.ts')).length).toBe(1);
  });

  it('bring a rebase to the peer as its result, not step by step', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-repo-');
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'config', 'user.name', 'Test');
    git(dir, 'config', 'user.email', 'test@example.com');
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'base.ts'), 'export const base = 0;\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'base');
    // Eight commits on a topic branch, each rewriting one shared file; main moves on meanwhile.
    git(dir, 'checkout', '-q', '-b', 'topic');
    for (let i = 1; i <= 8; i++) {
      writeFileSync(join(dir, 'src', 'shared.ts'), `export const step = ${i};\n`);
      writeFileSync(join(dir, 'src', `topic${i}.ts`), `export const t${i} = ${i};\n`);
      git(dir, 'add', '.');
      git(dir, 'commit', '-qm', `topic ${i}`);
    }
    git(dir, 'checkout', '-q', 'main');
    writeFileSync(join(dir, 'src', 'main.ts'), 'export const main = 1;\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'main moves on');
    git(dir, 'checkout', '-q', 'topic');
    await startAgent(hub, { dir });
    const peer = await startAgent(hub);
    await waitUntil(() => treesEqual(dir, peer.tree.root), 'the topic branch on the peer');
    const before = (await hub.store.changesSince('test', 0, 10_000)).head;
    // Eight steps, each taking and letting go of the index lock and moving HEAD (detached), with
    // a pause after each that holds no lock (as a hook or a slow machine makes between steps).
    git(dir, 'rebase', '-q', '--exec', 'sleep 0.03', 'main');
    await waitUntil(() => treesEqual(dir, peer.tree.root), 'the rebased branch on the peer', 15_000);
    const after = (await hub.store.changesSince('test', before, 10_000)).entries;
    // The result only: main.ts arrives once, shared.ts keeps its last step, and everything is
    // labelled with the branch the rebase ends on.
    expect(after.map((e) => e.path).sort()).toEqual(['src/main.ts']);
    expect(after.map((e) => e.branch)).toEqual(['topic']);
    expect((await hub.store.history('test', 'src/shared.ts')).length).toBe(1);
  });
});
