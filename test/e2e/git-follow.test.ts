/**
 * The agent follows git while it runs: what git tracks (a tracked file syncs even under an ignore
 * pattern) is read again whenever git's index changes, and git's own exclude files apply.
 * Two real agents on a real hub; the first folder is a real git repository.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, onCleanup, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

function git(cwd: string, ...args: string[]): string {
  const result = Bun.spawnSync(['git', ...args], { cwd });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

/** A git repository with one commit on `main`: a .gitignore and a normal file. */
function repo(gitignore: string): string {
  const dir = tempDir('warmsync-repo-');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  writeFileSync(join(dir, '.gitignore'), gitignore);
  writeFileSync(join(dir, 'main.ts'), 'export {};\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'init');
  return dir;
}

/** Commits `path` with `text` on a new branch `branch` (forced past the ignore rules), then goes back to main. */
function commitOnBranch(dir: string, branch: string, path: string, text: string): void {
  git(dir, 'checkout', '-q', '-b', branch);
  writeFileSync(join(dir, path), text);
  git(dir, 'add', '-f', path);
  git(dir, 'commit', '-qm', `${path} on ${branch}`);
  git(dir, 'checkout', '-q', 'main');
}

/**
 * Puts a `git` first on PATH whose `ls-files` touches `<marks>/asked` and then does not answer
 * until `<marks>/release` exists (written on cleanup); every other command is the real git.
 */
function holdGitLsFiles(): string {
  const realGit = Bun.which('git')!;
  const marks = tempDir('warmsync-slow-git-');
  const bin = join(marks, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh\nfor a in "$@"; do if [ "$a" = ls-files ]; then touch '${marks}/asked'; while [ ! -e '${marks}/release' ]; do sleep 0.05; done; fi; done\nexec '${realGit}' "$@"\n`,
    { mode: 0o755 },
  );
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  onCleanup(() => {
    writeFileSync(join(marks, 'release'), '');
    process.env.PATH = path;
  });
  return marks;
}

/**
 * A repository whose branch `next` changes main.ts, its agent, and a peer that holds main.ts.
 * No safety rescan on the repository's agent: a full scan waits for what git tracks by design, and
 * a checkout's cycle would queue behind one (on a loaded machine one lands in a test's window).
 */
async function repoWithNextBranch(): Promise<{ dirA: string; peer: string }> {
  const hub = startHub();
  const dirA = repo('*.gen.ts\n');
  commitOnBranch(dirA, 'next', 'main.ts', 'export const next = 2;\n');
  await startAgent(hub, { dir: dirA, rescanMinMs: 600_000 });
  const peer = (await startAgent(hub)).tree.root;
  await waitUntil(() => existsSync(join(peer, 'main.ts')), 'main.ts on the peer');
  return { dirA, peer };
}

describe('git follows git', () => {
  it('syncs a file under an ignored folder once it is force-added with git add -f', async () => {
    const hub = startHub();
    const dirA = repo('dist/\n');
    await startAgent(hub, { dir: dirA });
    const b = await startAgent(hub);
    await waitUntil(() => existsSync(join(b.tree.root, '.gitignore')), 'the ignore file on the peer');
    mkdirSync(join(dirA, 'dist'));
    writeFileSync(join(dirA, 'dist/bundle.js'), 'console.log("shipped");\n');
    writeFileSync(join(dirA, 'dist/scratch.js'), 'not tracked');
    git(dirA, 'add', '-f', 'dist/bundle.js');
    await waitUntil(
      () => existsSync(join(b.tree.root, 'dist/bundle.js')),
      'the force-added file on the peer',
    );
    expect(readFileSync(join(b.tree.root, 'dist/bundle.js'), 'utf8')).toBe('console.log("shipped");\n');
    expect(await hub.store.entry('test', 'dist/scratch.js')).toBeUndefined();
  });

  it('syncs an otherwise ignored file after git checkout of a branch that tracks it', async () => {
    const hub = startHub();
    const dirA = repo('*.gen.ts\n');
    commitOnBranch(dirA, 'release', 'api.gen.ts', 'export const generated = 1;\n');
    expect(existsSync(join(dirA, 'api.gen.ts'))).toBe(false);
    await startAgent(hub, { dir: dirA });
    const b = await startAgent(hub);
    await waitUntil(() => existsSync(join(b.tree.root, '.gitignore')), 'the ignore file on the peer');
    git(dirA, 'checkout', '-q', 'release');
    await waitUntil(
      () => existsSync(join(b.tree.root, 'api.gen.ts')),
      'the tracked file of the branch on the peer',
    );
    // Back on main the file is neither tracked nor present: its deletion reaches the peer too.
    git(dirA, 'checkout', '-q', 'main');
    await waitUntil(() => !existsSync(join(b.tree.root, 'api.gen.ts')), 'the deletion on the peer');
  });

  it("pushes a checkout's files that no ignore pattern matches without waiting for git ls-files", async () => {
    const { dirA, peer } = await repoWithNextBranch();
    // From here on `git ls-files` does not answer until released: the agent asks it (what git
    // tracks decides what syncs under an ignore pattern), but main.ts's verdict cannot depend on it.
    const marks = holdGitLsFiles();
    git(dirA, 'checkout', '-q', 'next');
    await waitUntil(() => existsSync(join(marks, 'asked')), 'the agent to ask git what it tracks');
    await waitUntil(
      () => readFileSync(join(peer, 'main.ts'), 'utf8') === 'export const next = 2;\n',
      "the checkout's file on the peer while git ls-files is still out",
    );
    expect(existsSync(join(marks, 'release'))).toBe(false);
  });

  it("pushes a checkout's files while git has not yet answered what it tracked before it", async () => {
    const { dirA, peer } = await repoWithNextBranch();
    const marks = holdGitLsFiles();
    // A first change of the index, whose question to git stays out...
    writeFileSync(join(dirA, 'notes.txt'), 'notes\n');
    git(dirA, 'add', 'notes.txt');
    await waitUntil(() => existsSync(join(marks, 'asked')), 'the agent to ask git what it tracks');
    // ...then a checkout, in cycles of its own: its files do not wait for that answer either.
    git(dirA, 'checkout', '-q', 'next');
    await waitUntil(
      () => readFileSync(join(peer, 'main.ts'), 'utf8') === 'export const next = 2;\n',
      "the checkout's file on the peer while git ls-files is still out",
    );
    expect(existsSync(join(marks, 'release'))).toBe(false);
  });

  it('keeps a file matched by .git/info/exclude from syncing', async () => {
    const hub = startHub();
    const dirA = repo('');
    writeFileSync(join(dirA, '.git/info/exclude'), 'local-notes.md\n');
    writeFileSync(join(dirA, 'local-notes.md'), 'mine only');
    writeFileSync(join(dirA, 'shared.md'), 'for everyone');
    // start() resolves after the first full push: whatever it would send is on the hub by now.
    await startAgent(hub, { dir: dirA });
    expect(await hub.store.entry('test', 'shared.md')).toBeDefined();
    expect(await hub.store.entry('test', 'local-notes.md')).toBeUndefined();
    const b = await startAgent(hub);
    await waitUntil(() => existsSync(join(b.tree.root, 'shared.md')), 'the shared file on the peer');
    expect(existsSync(join(b.tree.root, 'local-notes.md'))).toBe(false);
  });

  it('keeps a file matched by the core.excludesFile from syncing', async () => {
    const hub = startHub();
    const dirA = repo('');
    const excludes = join(tempDir('warmsync-gitconfig-'), 'ignore');
    writeFileSync(excludes, '*.swp\n');
    git(dirA, 'config', 'core.excludesFile', excludes);
    writeFileSync(join(dirA, '.main.ts.swp'), 'editor swap file');
    writeFileSync(join(dirA, 'shared.md'), 'for everyone');
    await startAgent(hub, { dir: dirA });
    expect(await hub.store.entry('test', 'shared.md')).toBeDefined();
    expect(await hub.store.entry('test', '.main.ts.swp')).toBeUndefined();
  });
});
