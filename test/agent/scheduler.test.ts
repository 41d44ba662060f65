/**
 * The scheduler with real timers and a real folder for git's index lock: when the work it hands
 * over starts, and with what.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitBusy, gitSequencing } from '../../src/agent/git.ts';
import {
  classifyWatchEvent,
  type FlushWork,
  GIT_QUIET_MS,
  Scheduler,
  type SchedulerDeps,
  type WatchEvent,
} from '../../src/agent/scheduler.ts';
import { TEMP_FILE_PREFIX } from '../../src/core/paths.ts';
import { cleanup, onCleanup, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Git at work in `dir`: its .git folder, holding the lock `name` (index.lock, HEAD.lock). */
function holdLock(dir: string, name: string): void {
  mkdirSync(join(dir, '.git'), { recursive: true });
  writeFileSync(join(dir, '.git', name), '');
}

/** A scheduler on a fresh folder that records every piece of work it hands over. */
function schedulerOn(over: Partial<SchedulerDeps> = {}) {
  const dir = tempDir();
  const flushes: Array<FlushWork & { at: number }> = [];
  const bursts: Set<string>[] = [];
  const due: Set<string>[] = [];
  let rescans = 0;
  const deferred = new Map<string, { retryAt: number }>();
  const scheduler = new Scheduler({
    debounceMs: 0,
    polling: () => false,
    allowGit: false,
    gitBusy: () => gitBusy(dir),
    gitSequencing: () => gitSequencing(dir),
    deferred: () => deferred,
    flush: async (work) => {
      flushes.push({ ...work, at: Date.now() });
    },
    rescan: async () => {
      rescans++;
    },
    burst: (paths) => bursts.push(paths),
    deferredDue: (paths) => due.push(paths),
    ...over,
  });
  onCleanup(() => scheduler.stop());
  return { scheduler, dir, flushes, bursts, due, deferred, rescans: () => rescans };
}

describe('classifyWatchEvent', () => {
  const rows: Array<[name: string, allowGit: boolean, expected: WatchEvent]> = [
    ['src/a.ts', false, { type: 'path', path: 'src/a.ts' }],
    ['src\\win\\a.ts', false, { type: 'path', path: 'src/win/a.ts' }],
    ['.git/HEAD', false, { type: 'git-index' }],
    ['.git/index.lock', false, { type: 'git-index' }],
    ['.git/index', true, { type: 'git-index' }],
    ['.git/info/exclude', false, { type: 'git-index' }],
    ['.git/objects/ab/cdef', false, { type: 'skip' }],
    ['.git/objects/ab/cdef', true, { type: 'path', path: '.git/objects/ab/cdef' }],
    [`${TEMP_FILE_PREFIX}x`, false, { type: 'skip' }],
    [`node_modules/${TEMP_FILE_PREFIX}stage/a.js`, false, { type: 'skip' }],
  ];
  for (const [name, allowGit, expected] of rows)
    it(`${name}${allowGit ? ' (git synced)' : ''} is ${expected.type}`, () =>
      expect(classifyWatchEvent(name, allowGit)).toEqual(expected));
});

describe('flushes', () => {
  it('hands over the paths of one burst of events in one flush', async () => {
    const { scheduler, flushes } = schedulerOn({ debounceMs: 30 });
    scheduler.noteWatchEvent('a.txt');
    await sleep(5);
    scheduler.noteWatchEvent('b.txt');
    await waitUntil(() => flushes.length > 0, 'a flush');
    await sleep(50);
    expect(flushes.map((f) => [...f.paths].sort())).toEqual([['a.txt', 'b.txt']]);
    expect(scheduler.dirtyCount()).toBe(0);
  });

  it('waits for the quiet time after the last event', async () => {
    const { scheduler, flushes } = schedulerOn({ debounceMs: 40 });
    scheduler.noteWatchEvent('a.txt');
    await sleep(25);
    const last = Date.now();
    scheduler.noteWatchEvent('a.txt');
    await waitUntil(() => flushes.length > 0, 'a flush');
    expect(flushes[0]!.at - last).toBeGreaterThanOrEqual(35);
  });

  it('asks for a full scan when events were missed', async () => {
    const { scheduler, flushes } = schedulerOn();
    scheduler.noteMissed(5);
    await waitUntil(() => flushes.length > 0, 'a flush');
    expect(flushes[0]!.full).toBe(true);
  });

  it('hands over paths marked dirty with the next flush', async () => {
    const { scheduler, flushes } = schedulerOn();
    scheduler.markDirty('again.txt');
    expect(scheduler.pendingLocal()).toBe(1);
    scheduler.scheduleFlush();
    await waitUntil(() => flushes.length > 0, 'a flush');
    expect([...flushes[0]!.paths]).toEqual(['again.txt']);
  });

  it('tells apart the paths whose every event was a rename', async () => {
    const { scheduler, flushes } = schedulerOn({ debounceMs: 20 });
    scheduler.noteWatchEvent('renamed.txt', 'rename');
    scheduler.noteWatchEvent('renamed.txt', 'rename');
    scheduler.noteWatchEvent('renamed-then-changed.txt', 'rename');
    scheduler.noteWatchEvent('renamed-then-changed.txt', 'change');
    scheduler.noteWatchEvent('changed-then-renamed.txt', 'change');
    scheduler.noteWatchEvent('changed-then-renamed.txt', 'rename');
    scheduler.noteWatchEvent('kind-unknown.txt');
    scheduler.noteWatchEvent('renamed-and-marked.txt', 'rename');
    scheduler.markDirty('renamed-and-marked.txt');
    await waitUntil(() => flushes.length > 0, 'a flush');
    expect(flushes[0]!.paths.size).toBe(5);
    expect([...flushes[0]!.renamedOnly]).toEqual(['renamed.txt']);
    // The next flush starts afresh: a change now is not outweighed by the renames before.
    scheduler.noteWatchEvent('renamed.txt', 'change');
    await waitUntil(() => flushes.length > 1, 'a second flush');
    expect([...flushes[1]!.paths]).toEqual(['renamed.txt']);
    expect(flushes[1]!.renamedOnly.size).toBe(0);
  });

  it('hands over nothing once stopped', async () => {
    const { scheduler, flushes } = schedulerOn({ debounceMs: 10 });
    scheduler.noteWatchEvent('a.txt');
    scheduler.stop();
    await sleep(40);
    expect(flushes).toEqual([]);
  });

  it('wants a full scan once, until it is wanted again', () => {
    const { scheduler } = schedulerOn();
    scheduler.wantFullScan();
    expect(scheduler.takeFullScan()).toBe(true);
    expect(scheduler.takeFullScan()).toBe(false);
  });
});

describe('checkouts', () => {
  it('waits a short quiet time after git touches its index, and says git was at work', async () => {
    const { scheduler, flushes } = schedulerOn();
    const noted = Date.now();
    scheduler.noteWatchEvent('.git/index');
    scheduler.noteWatchEvent('src/a.ts');
    await waitUntil(() => flushes.length > 0, 'a flush');
    expect(flushes[0]!.at - noted).toBeGreaterThanOrEqual(GIT_QUIET_MS - 1);
    expect(flushes[0]!.gitTouched).toBe(true);
    expect([...flushes[0]!.paths]).toEqual(['src/a.ts']);
  });

  it('holds the flush while git holds its index lock, and flushes once the lock is removed', async () => {
    const { scheduler, flushes, dir } = schedulerOn();
    holdLock(dir, 'index.lock');
    scheduler.noteWatchEvent('.git/index.lock');
    scheduler.noteWatchEvent('src/a.ts');
    // Events of files git is still writing come and go; none of them lets a flush through.
    for (let i = 0; i < 5; i++) {
      await sleep(GIT_QUIET_MS * 3);
      scheduler.noteWatchEvent('src/b.ts');
    }
    await sleep(GIT_QUIET_MS * 3);
    expect(flushes).toEqual([]);
    // Git renames its lock over the index: the watcher names both.
    rmSync(join(dir, '.git', 'index.lock'));
    scheduler.noteWatchEvent('.git/index.lock');
    scheduler.noteWatchEvent('.git/index');
    await waitUntil(() => flushes.length > 0, 'the flush once git is done');
    expect(flushes[0]!.gitTouched).toBe(true);
    expect([...flushes[0]!.paths].sort()).toEqual(['src/a.ts', 'src/b.ts']);
  });

  it('holds the flush while git moves HEAD', async () => {
    const { scheduler, flushes, dir } = schedulerOn();
    holdLock(dir, 'HEAD.lock');
    scheduler.noteWatchEvent('.git/index');
    await sleep(GIT_QUIET_MS * 5);
    expect(flushes).toEqual([]);
    rmSync(join(dir, '.git', 'HEAD.lock'));
    scheduler.noteWatchEvent('.git/HEAD');
    await waitUntil(() => flushes.length > 0, 'the flush once HEAD has moved');
  });

  it("starts the flush at the index lock's removal; the branch is read once git has been quiet", async () => {
    const quietMs = 300;
    let quietLeftAtFlush = 0;
    let settledAt = 0;
    const { scheduler, flushes, dir } = schedulerOn({
      gitQuietMs: quietMs,
      flush: async (work) => {
        flushes.push({ ...work, at: performance.now() });
        quietLeftAtFlush = lastGitEvent + quietMs - performance.now();
        await scheduler.gitSettled(0, 10 * quietMs);
        settledAt = performance.now();
      },
    });
    mkdirSync(join(dir, '.git'));
    scheduler.noteWatchEvent('src/a.ts');
    // Git renames its lock over the index (gone, so git is not at work).
    scheduler.noteWatchEvent('.git/index.lock');
    scheduler.noteWatchEvent('.git/index');
    const lastGitEvent = performance.now();
    await waitUntil(() => settledAt > 0, 'the flush and the quiet after it');
    expect(flushes).toHaveLength(1);
    expect([...flushes[0]!.paths]).toEqual(['src/a.ts']);
    expect(flushes[0]!.gitTouched).toBe(true);
    // The flush did not wait for the quiet; the reading of the branch did.
    expect(quietLeftAtFlush).toBeGreaterThan(0);
    expect(settledAt - lastGitEvent).toBeGreaterThanOrEqual(quietMs - 1);
  });

  it("flushes at the lock's removal though git's own files (HEAD's lock, its logs) come after it", async () => {
    // A quiet time far past the test's own timeout: only a flush that does not wait for it passes.
    const { scheduler, flushes, dir } = schedulerOn({ gitQuietMs: 60_000 });
    mkdirSync(join(dir, '.git'));
    scheduler.noteWatchEvent('src/a.ts');
    scheduler.noteWatchEvent('.git/index.lock');
    scheduler.noteWatchEvent('.git/index');
    scheduler.noteWatchEvent('.git/HEAD.lock');
    scheduler.noteWatchEvent('.git/logs/HEAD');
    await waitUntil(() => flushes.length > 0, 'the flush');
    expect([...flushes[0]!.paths]).toEqual(['src/a.ts']);
  });

  it('hands over nothing for the events of files that never sync (git objects, temporary files)', async () => {
    let looks = 0;
    const { scheduler, flushes, dir } = schedulerOn({
      gitBusy: async () => {
        looks++;
        return false;
      },
    });
    mkdirSync(join(dir, '.git'));
    for (let i = 0; i < 10; i++) {
      scheduler.noteWatchEvent(`.git/objects/ab/cdef${i}`);
      scheduler.noteWatchEvent(`${TEMP_FILE_PREFIX}x${i}`);
    }
    await sleep(GIT_QUIET_MS * 10);
    expect(flushes).toEqual([]);
    expect(looks).toBe(0);
  });

  it('waits out the steps of a rebase until git has been quiet, then hands them over as one', async () => {
    const sequenceQuietMs = 150;
    const { scheduler, flushes, dir } = schedulerOn({ gitSequenceQuietMs: sequenceQuietMs });
    mkdirSync(join(dir, '.git', 'rebase-merge'), { recursive: true });
    let lastGitEvent = 0;
    // Three steps, each writing a file under the index lock and letting go of it (no lock held
    // between them, as git does).
    for (const file of ['src/a.ts', 'src/b.ts', 'src/c.ts']) {
      scheduler.noteWatchEvent('.git/index.lock');
      scheduler.noteWatchEvent(file);
      scheduler.noteWatchEvent('.git/index.lock');
      scheduler.noteWatchEvent('.git/index');
      scheduler.noteWatchEvent('.git/HEAD');
      lastGitEvent = Date.now();
      await sleep(GIT_QUIET_MS * 3);
    }
    await waitUntil(() => flushes.length > 0, 'the flush after the sequence');
    expect(flushes).toHaveLength(1);
    expect([...flushes[0]!.paths].sort()).toEqual(['src/a.ts', 'src/b.ts', 'src/c.ts']);
    expect(flushes[0]!.at - lastGitEvent).toBeGreaterThanOrEqual(sequenceQuietMs - 1);
  });

  it('waits to read the branch while HEAD is being moved', async () => {
    const { scheduler, dir } = schedulerOn();
    mkdirSync(join(dir, '.git'));
    scheduler.noteWatchEvent('.git/index');
    writeFileSync(join(dir, '.git', 'HEAD.lock'), '');
    let settled = false;
    const settling = scheduler.gitSettled(0, 60_000).then(() => {
      settled = true;
    });
    await sleep(GIT_QUIET_MS * 10);
    expect(settled).toBe(false);
    rmSync(join(dir, '.git', 'HEAD.lock'));
    scheduler.noteWatchEvent('.git/HEAD');
    await settling;
  });

  it('reads the branch at once when git moved HEAD after its index (the last step of a checkout)', async () => {
    // A quiet time far past the test's own timeout: only HEAD's move can end the wait in time.
    const { scheduler, dir } = schedulerOn({ gitQuietMs: 60_000 });
    mkdirSync(join(dir, '.git'));
    scheduler.noteWatchEvent('.git/index.lock');
    scheduler.noteWatchEvent('.git/index');
    scheduler.noteWatchEvent('src/a.ts');
    scheduler.noteWatchEvent('.git/HEAD');
    await scheduler.gitSettled(0, 120_000);
    // Git touching its index again means a HEAD move may follow once more: the wait is back.
    scheduler.noteWatchEvent('.git/index');
    const started = performance.now();
    await scheduler.gitSettled(0, 50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
  });

  it('stops waiting to read the branch once the longest wait is over (a lock left behind)', async () => {
    const { scheduler, dir } = schedulerOn();
    holdLock(dir, 'HEAD.lock');
    const started = performance.now();
    await scheduler.gitSettled(0, 50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
  });

  it('takes a checkout whole when the lock is found gone before the event of its removal', async () => {
    const { scheduler, flushes, dir } = schedulerOn();
    holdLock(dir, 'index.lock');
    scheduler.noteWatchEvent('.git/index.lock');
    scheduler.noteWatchEvent('src/a.ts');
    await sleep(GIT_QUIET_MS * 3);
    // Git is done; the events of its last files and of the lock's removal are still on their way.
    rmSync(join(dir, '.git', 'index.lock'));
    scheduler.noteWatchEvent('src/b.ts');
    await sleep(GIT_QUIET_MS * 5);
    expect(flushes).toEqual([]);
    scheduler.noteWatchEvent('src/c.ts');
    scheduler.noteWatchEvent('.git/index.lock');
    scheduler.noteWatchEvent('.git/index');
    await waitUntil(() => flushes.length > 0, 'the flush once the removal is named');
    await sleep(GIT_QUIET_MS * 3);
    expect(flushes).toHaveLength(1);
    expect([...flushes[0]!.paths].sort()).toEqual(['src/a.ts', 'src/b.ts', 'src/c.ts']);
  });

  it("takes the work at once when the lock's removal is named while the lock is being looked at", async () => {
    let dir = '';
    let raced = false;
    const {
      scheduler,
      flushes,
      dir: folder,
    } = schedulerOn({
      gitBusy: async () => {
        const held = await gitBusy(dir);
        if (held && !raced) {
          // Git lets go while the look is under way, and the watcher names the removal at once.
          raced = true;
          rmSync(join(dir, '.git', 'index.lock'));
          scheduler.noteWatchEvent('.git/index.lock');
          scheduler.noteWatchEvent('.git/index');
        }
        return held;
      },
    });
    dir = folder;
    holdLock(dir, 'index.lock');
    scheduler.noteWatchEvent('src/a.ts');
    scheduler.noteWatchEvent('.git/index.lock');
    // Well within the fallback interval (250 ms) that a missed removal would wait for.
    await sleep(100);
    expect(raced).toBe(true);
    expect(flushes.map((f) => [...f.paths])).toEqual([['src/a.ts']]);
  });

  it('looks at the lock again on its own when its removal is never named', async () => {
    const { scheduler, flushes, dir } = schedulerOn();
    holdLock(dir, 'index.lock');
    scheduler.noteWatchEvent('.git/index.lock');
    await sleep(GIT_QUIET_MS * 5);
    rmSync(join(dir, '.git', 'index.lock'));
    await waitUntil(() => flushes.length > 0, 'the fallback flush');
    expect(flushes[0]!.gitTouched).toBe(true);
  });
});

describe('paths that look mid-write', () => {
  it('are put off once and handed over again soon', async () => {
    const { scheduler, flushes } = schedulerOn();
    expect(scheduler.putOffOnce('a.txt', true)).toBe(true);
    await waitUntil(() => flushes.length > 0, 'the retry');
    expect([...flushes[0]!.paths]).toEqual(['a.txt']);
  });

  it('are taken as they are the second time', () => {
    const { scheduler } = schedulerOn();
    scheduler.putOffOnce('a.txt', true);
    expect(scheduler.putOffOnce('a.txt', true)).toBe(false);
  });

  it('are not put off when they look settled', () => {
    const { scheduler } = schedulerOn();
    expect(scheduler.putOffOnce('a.txt', false)).toBe(false);
    expect(scheduler.dirtyCount()).toBe(0);
  });
});

describe('deletion bursts', () => {
  it('hand over the paths of every held cycle at once, once deletions are quiet', async () => {
    const { scheduler, bursts } = schedulerOn();
    scheduler.holdDeletionBurst(['a', 'b']);
    await sleep(20);
    scheduler.holdDeletionBurst(['c']);
    expect(scheduler.pendingLocal()).toBe(3);
    await waitUntil(() => bursts.length > 0, 'the burst');
    await sleep(80);
    expect(bursts.map((b) => [...b].sort())).toEqual([['a', 'b', 'c']]);
    expect(scheduler.pendingLocal()).toBe(0);
  });

  it('are handed over within a second even when deletions never stop', async () => {
    const { scheduler, bursts } = schedulerOn();
    const started = Date.now();
    while (bursts.length === 0 && Date.now() - started < 5000) {
      scheduler.holdDeletionBurst([`f${Date.now()}`]);
      await sleep(20);
    }
    expect(bursts.length).toBe(1);
    expect(Date.now() - started).toBeLessThan(2500);
  });
});

describe('rescans', () => {
  it('run again and again, no closer than the floor', async () => {
    const { scheduler, rescans } = schedulerOn({ rescanMinMs: 20 });
    scheduler.scheduleRescan();
    await waitUntil(() => rescans() >= 3, 'three rescans', 2000);
  });

  it('are spaced 400 times as long as the last scan took, past a floor given', async () => {
    const { scheduler, rescans } = schedulerOn({ rescanMinMs: 10 });
    scheduler.noteScanDuration(1);
    scheduler.scheduleRescan();
    await sleep(200);
    expect(rescans()).toBe(0);
    await waitUntil(() => rescans() === 1, 'the rescan after 400 ms', 2000);
  });

  it('are spaced 400 times as long as the last scan took when polling', async () => {
    const { scheduler, rescans } = schedulerOn({ rescanMinMs: 10, polling: () => true });
    scheduler.noteScanDuration(1);
    scheduler.scheduleRescan();
    await sleep(200);
    expect(rescans()).toBe(0);
    await waitUntil(() => rescans() === 1, 'the polling rescan after 400 ms', 2000);
  });

  it('come at least every second when polling, whatever the floor', async () => {
    const { scheduler, rescans } = schedulerOn({ rescanMinMs: 60_000, polling: () => true });
    scheduler.scheduleRescan();
    await waitUntil(() => rescans() === 1, 'a polling rescan', 2000);
  });
});

describe('rescans during a checkout', () => {
  it('wait while git holds its index lock, and run again once it is gone', async () => {
    const { scheduler, dir, rescans } = schedulerOn({ rescanMinMs: 20 });
    holdLock(dir, 'index.lock');
    scheduler.scheduleRescan();
    await sleep(150);
    expect(rescans()).toBe(0);
    rmSync(join(dir, '.git', 'index.lock'));
    await waitUntil(() => rescans() > 0, 'a rescan once git is done');
  });
});

describe('deferred versions', () => {
  it('are handed over when due, the later ones left waiting', async () => {
    const { scheduler, due, deferred } = schedulerOn();
    deferred.set('soon', { retryAt: Date.now() + 30 });
    deferred.set('later', { retryAt: Date.now() + 60_000 });
    scheduler.scheduleDeferred();
    await waitUntil(() => due.length > 0, 'the due retry');
    expect([...due[0]!]).toEqual(['soon']);
  });

  it('schedule nothing when none is deferred', async () => {
    const { scheduler, due } = schedulerOn();
    scheduler.scheduleDeferred();
    await sleep(30);
    expect(due).toEqual([]);
  });
});
