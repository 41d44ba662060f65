/**
 * Checkout to peer: a clone of this repository's own history, a hub, an agent on the clone and a
 * mirror agent; then successive real commits are checked out one after another (`git checkout
 * --detach`, oldest first), and each is timed from git's exit until the mirror holds every file
 * the commit changed (and none it removed). Baseline in the same invocation: `rsync -a --delete`
 * of the work tree (without `.git`) to a loopback rsync daemon after each checkout of the same
 * commits, timed from git's exit until rsync is done.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './edit-replay.ts';
import { REPO_ROOT, run } from './lib/procs.ts';
import type { Row } from './lib/report.ts';
import { rsyncTo, startRsyncDaemon } from './lib/rsyncd.ts';
import { startSession } from './lib/session.ts';
import { median, percentile } from './lib/stats.ts';
import { type Expectation, MirrorWatch, scratchDir } from './lib/trees.ts';

/** Successive first-parent commits checked out per run (the first one is where the run starts). */
const CHECKOUTS = 20;
const QUICK_CHECKOUTS = 8;

export async function checkout(options: BenchOptions): Promise<Row[]> {
  const steps = options.quick ? QUICK_CHECKOUTS : CHECKOUTS;
  const scratch = scratchDir('checkout');
  try {
    const origin = join(scratch, 'origin');
    await run(['git', 'clone', '-q', '--no-hardlinks', REPO_ROOT, origin]);
    const commits = (await git(origin, 'rev-list', '--first-parent', `-n${steps + 1}`, 'HEAD'))
      .split('\n')
      .filter(Boolean)
      .reverse();
    if (commits.length < 2) throw new Error('the repository has too short a history to check out');
    const changed = await changedFiles(origin, commits);
    options.log(
      `checkout: ${commits.length - 1} checkouts of ${REPO_ROOT}, ${median(changed.map((c) => c.length))} changed paths (median)`,
    );

    const p50: number[] = [];
    const p95: number[] = [];
    for (let r = 0; r < options.runs; r++) {
      const ms = await checkoutOnce(join(scratch, `run${r}`), origin, commits, changed);
      p50.push(median(ms));
      p95.push(percentile(ms, 0.95));
      options.log(
        `checkout run ${r + 1}: git exit to peer p50 ${median(ms).toFixed(1)} ms, p95 ${percentile(ms, 0.95).toFixed(1)} ms (${ms.map((m) => m.toFixed(0)).join(' ')})`,
      );
      rmSync(join(scratch, `run${r}`), { recursive: true, force: true });
    }
    const rsyncP50: number[] = [];
    const rsyncP95: number[] = [];
    for (let r = 0; r < options.runs; r++) {
      const ms = await rsyncOnce(join(scratch, `rsync${r}`), origin, commits);
      rsyncP50.push(median(ms));
      rsyncP95.push(percentile(ms, 0.95));
      rmSync(join(scratch, `rsync${r}`), { recursive: true, force: true });
    }
    options.log(`checkout: rsync -a per checkout p50 ${median(rsyncP50).toFixed(1)} ms`);
    const bench = 'git checkout';
    const value = median(p50);
    return [
      {
        bench,
        metric: 'git exit to peer, p50',
        note: `${commits.length - 1} successive commits of this repository, checked out detached`,
        value,
        unit: 'ms',
        baseline: { name: 'rsync -a to loopback daemon after the checkout', value: median(rsyncP50) },
        target: '<= 20 ms',
        met: value <= 20,
        runs: options.runs,
      },
      {
        bench,
        metric: 'git exit to peer, p95',
        value: median(p95),
        unit: 'ms',
        baseline: { name: 'rsync -a to loopback daemon after the checkout', value: median(rsyncP95) },
        runs: options.runs,
      },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  return new TextDecoder().decode((await run(['git', ...args], { cwd })).stdout);
}

/** Per checkout (commit i-1 to commit i): the paths it adds, changes or removes. */
async function changedFiles(repo: string, commits: readonly string[]): Promise<string[][]> {
  const out: string[][] = [];
  for (let i = 1; i < commits.length; i++) {
    const names = await git(repo, 'diff', '--name-only', '--no-renames', '-z', commits[i - 1]!, commits[i]!);
    out.push(names.split('\0').filter(Boolean));
  }
  return out;
}

/** A clone of `origin` checked out at `commit`, ready to be moved from commit to commit. */
async function cloneAt(origin: string, dir: string, commit: string): Promise<void> {
  await run(['git', 'clone', '-q', '--no-hardlinks', origin, dir]);
  await run(['git', 'checkout', '-q', '--detach', commit], { cwd: dir });
}

/** What the mirror must hold after a checkout: each changed path's bytes, or nothing. */
function expectationOf(worktree: string, paths: readonly string[]): Expectation {
  const expect: Expectation = new Map();
  for (const path of paths) {
    try {
      expect.set(path, readFileSync(join(worktree, path)));
    } catch {
      expect.set(path, null);
    }
  }
  return expect;
}

/** Times, in ms from git's exit, until the mirror holds each checkout's files. */
async function checkoutOnce(
  scratch: string,
  origin: string,
  commits: readonly string[],
  changed: readonly string[][],
): Promise<number[]> {
  const source = join(scratch, 'source');
  const mirror = join(scratch, 'mirror');
  await cloneAt(origin, source, commits[0]!);
  await run(['mkdir', '-p', mirror]);
  const session = await startSession(scratch);
  const watch = new MirrorWatch(mirror);
  try {
    await session.addAgent(source, 'source');
    await session.addAgent(mirror, 'mirror');
    const tracked = (await git(source, 'ls-files', '-z')).split('\0').filter(Boolean);
    await watch.wait(expectationOf(source, tracked), 120_000);
    const ms: number[] = [];
    for (let i = 1; i < commits.length; i++) {
      await session.quiet(300);
      const proc = Bun.spawn(['git', 'checkout', '-q', '--detach', commits[i]!], {
        cwd: source,
        stdout: 'ignore',
        stderr: 'ignore',
      });
      if ((await proc.exited) !== 0) throw new Error(`git checkout ${commits[i]} failed`);
      const exited = performance.now();
      const at = await watch.wait(expectationOf(source, changed[i - 1]!), 60_000);
      ms.push(Math.max(0, at - exited));
    }
    return ms;
  } finally {
    watch.close();
    await session.stop();
  }
}

/** Times, in ms from git's exit, until `rsync -a --delete` of the work tree is done. */
async function rsyncOnce(scratch: string, origin: string, commits: readonly string[]): Promise<number[]> {
  const source = join(scratch, 'source');
  await cloneAt(origin, source, commits[0]!);
  const daemon = await startRsyncDaemon(join(scratch, 'daemon'), join(scratch, 'dest'));
  try {
    const flags = ['-a', '--delete', '--exclude=/.git'];
    await rsyncTo(daemon, source, flags);
    const ms: number[] = [];
    for (let i = 1; i < commits.length; i++) {
      const proc = Bun.spawn(['git', 'checkout', '-q', '--detach', commits[i]!], {
        cwd: source,
        stdout: 'ignore',
        stderr: 'ignore',
      });
      if ((await proc.exited) !== 0) throw new Error(`git checkout ${commits[i]} failed`);
      const exited = performance.now();
      await rsyncTo(daemon, source, flags);
      ms.push(performance.now() - exited);
    }
    return ms;
  } finally {
    await daemon.stop();
  }
}
