/**
 * When the agent's local cycles run: the paths the watcher named since the last cycle (the dirty
 * set), the quiet time before they are handled, paths put off once because they looked mid-write,
 * deletions gathered into one burst, git checkouts waited out, periodic full rescans, and the
 * retries of deferred remote versions. It decides only *when*; the work it starts is the agent's,
 * run through the callbacks in the agent's queue.
 *
 * Invariant: a path the watcher named stays in the dirty set, the settling set or the deletion
 * burst until a cycle takes it, so no event is forgotten while cycles are put off.
 */
import { TEMP_FILE_PREFIX } from '../core/paths.ts';
import type { WatchEventKind } from './watcher.ts';

/** How long a path that looked mid-write is left alone before it is read again. */
export const SETTLE_MS = 3;
/**
 * Quiet time after git touched its index or HEAD before a cycle reads the branch: git lets go of
 * its index lock once every file of a checkout is written, and moves HEAD right after (a
 * millisecond or two later; longer in a large tree, where `git checkout` first lists the local
 * changes), so a few milliseconds of quiet see the whole operation, branch included.
 * The cycle starts at the lock's removal and observes meanwhile; only its reading of HEAD waits
 * (see `gitSettled`). Events of files git is still writing wait this long before a flush looks
 * at the lock, so that a large checkout's events are taken in few looks.
 */
export const GIT_QUIET_MS = 4;
/**
 * Between the steps of a rebase, a cherry-pick of a range or an am, git holds no lock for a
 * moment. While one is under way (its folder is in .git), a flush waits until git's index and
 * HEAD have been quiet this long, so that the peers get the result whole rather than each step,
 * one of them maybe read while the next step writes it. A sequence stopped on a conflict is quiet,
 * and the user's edits then sync as usual.
 */
export const GIT_SEQUENCE_QUIET_MS = 100;
/**
 * While git holds its index lock, the lock's removal (a watcher event) starts the cycle; this is
 * only the fallback interval at which the lock is looked at again, should that event be missed.
 */
export const GIT_BUSY_RECHECK_MS = 250;
/** Rescans wait for git's lock at most this long (see `putOffRescan`). */
export const RESCAN_GIT_WAIT_MAX_MS = 60_000;
/**
 * Watcher cycles that see deletions wait until deletions have been quiet this long (at most
 * DELETION_BURST_MAX_MS), so that a `rm -rf` arrives as one cycle and the safety halt judges it
 * whole instead of letting its first few deletions through.
 */
export const DELETION_QUIET_MS = 50;
export const DELETION_BURST_MAX_MS = 1000;

/** The shortest interval between safety rescans when no floor is given. */
const DEFAULT_RESCAN_MIN_MS = 5000;

/** The work of one watcher flush. */
export interface FlushWork {
  /** Paths the watcher named. */
  paths: Set<string>;
  /**
   * Those of them whose every event was a rename (as the agent's own write's is): for these an
   * unchanged stat that proves the agent's own write stands in for a read (see ReadPolicy).
   */
  renamedOnly: Set<string>;
  /** The whole tree is to be scanned instead (events were missed, a rule file changed...). */
  full: boolean;
  /** Git touched its index or HEAD since the last flush: maybe a checkout. */
  gitTouched: boolean;
}

export interface SchedulerDeps {
  /** Quiet time before a burst of watcher events is handled (0: at once). */
  debounceMs: number;
  /** See GIT_QUIET_MS and GIT_SEQUENCE_QUIET_MS (their defaults; tests change them). */
  gitQuietMs?: number;
  gitSequenceQuietMs?: number;
  /**
   * Shortest interval between full rescans (1 s at most when polling; default 5 s). Rescans are
   * also spaced 400 times the last scan's time, so they cost at most ~0.25% of a core.
   */
  rescanMinMs?: number;
  /** Whether changes are found by polling; asked each time (the watcher may fall back to it). */
  polling: () => boolean;
  /** Whether paths under `.git/` sync. */
  allowGit: boolean;
  /** True while git is at work in the folder (its index lock is held). */
  gitBusy: () => Promise<boolean>;
  /** True while git runs a sequence of steps (a rebase, a cherry-pick of a range, an am). */
  gitSequencing: () => Promise<boolean>;
  /** The retry times of the deferred remote versions, by path, as they are now. */
  deferred: () => ReadonlyMap<string, { retryAt: number }>;
  /** Runs a watcher cycle; resolves when it is done (errors are the callee's to report). */
  flush: (work: FlushWork) => Promise<unknown>;
  /** Runs a full rescan; resolves when it is done. */
  rescan: () => Promise<unknown>;
  /** The deletion burst is over: its paths go in one watcher cycle. */
  burst: (paths: Set<string>) => void;
  /** These deferred remote versions are due to be tried again. */
  deferredDue: (paths: Set<string>) => void;
}

/** What a watcher event names, once git's own files and temporary files are told apart. */
export type WatchEvent = { type: 'path'; path: string } | { type: 'git-index' } | { type: 'skip' };

/**
 * Classifies a watcher event's name. Git rewriting its index or HEAD may be a checkout (the
 * cycle asks git whether the branch moved); a temporary file, or anything inside a staging folder
 * (a node_modules being restored or installed), never syncs, and the hub would refuse the whole
 * push for it.
 */
export function classifyWatchEvent(name: string, allowGit: boolean): WatchEvent {
  const path = name.split('\\').join('/');
  if (
    path === '.git/HEAD' ||
    path === '.git/index.lock' ||
    path === '.git/index' ||
    path === '.git/info/exclude'
  )
    return { type: 'git-index' };
  if (path.startsWith('.git/') && !allowGit) return { type: 'skip' };
  if (path.startsWith(TEMP_FILE_PREFIX) || path.includes(`/${TEMP_FILE_PREFIX}`)) return { type: 'skip' };
  return { type: 'path', path };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Timers and sets that decide when the agent's local cycles run (see the file's comment). */
export class Scheduler {
  private dirty = new Set<string>();
  /** Per dirty path, whether every event it had since the last flush was a rename. */
  private onlyRenamed = new Map<string, boolean>();
  /** Paths put off once because they looked mid-write. */
  private readonly settling = new Set<string>();
  private fullScanWanted = false;
  private gitTouched = false;
  /** Whether the last event was git's index or HEAD (maybe its lock's removal), and when one last came. */
  private lastEventGit = false;
  private lastGitEventAt = Number.NEGATIVE_INFINITY;
  /** When git last touched its index, and HEAD: a HEAD moved after the index is a checkout's last step. */
  private lastIndexAt = Number.NEGATIVE_INFINITY;
  private lastHeadAt = Number.NEGATIVE_INFINITY;
  /** When a flush last found git holding its lock, until a git event came after it. */
  private foundBusyAt: number | undefined;
  /** Paths of watcher cycles that saw deletions, waiting for deletions to be quiet. */
  private deletionBurst = new Set<string>();
  private deletionBurstStarted = 0;
  private lastScanMs = 0;
  /** When the rescans began waiting for git's lock (undefined: they are not waiting). */
  private rescanPutOffSince: number | undefined;
  private stopped = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private rescanTimer: ReturnType<typeof setTimeout> | undefined;
  private deletionTimer: ReturnType<typeof setTimeout> | undefined;
  private deferralTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Notes a watcher event (a change in place unless told it is a rename) and schedules a flush. */
  noteWatchEvent(name: string, kind: WatchEventKind = 'change'): void {
    const event = classifyWatchEvent(name, this.deps.allowGit);
    // Nothing that syncs (git's other files, temporary files): no work, and no flush for it.
    if (event.type === 'skip') return;
    // Only a work-tree file's event asks for the quiet while git is at work.
    this.lastEventGit = event.type === 'git-index';
    if (event.type === 'git-index') {
      this.gitTouched = true;
      this.lastGitEventAt = performance.now();
      if (name.split('\\').join('/') === '.git/HEAD') this.lastHeadAt = this.lastGitEventAt;
      else this.lastIndexAt = this.lastGitEventAt;
    } else if (event.type === 'path') this.noteDirty(event.path, kind === 'rename');
    this.scheduleFlush();
  }

  private noteDirty(path: string, renamed: boolean): void {
    this.dirty.add(path);
    this.onlyRenamed.set(path, renamed && this.onlyRenamed.get(path) !== false);
  }

  /**
   * The watcher may have missed events: the next flush scans everything, after `delayMs` (the
   * usual quiet time when not given).
   */
  noteMissed(delayMs?: number): void {
    this.fullScanWanted = true;
    this.scheduleFlush(delayMs);
  }

  /** A cycle must look at `path` again (an edit found in the way, a push to redo...). */
  markDirty(path: string): void {
    this.noteDirty(path, false);
  }

  /** The next cycle scans the whole tree, whatever it was asked to look at. */
  wantFullScan(): void {
    this.fullScanWanted = true;
  }

  /** True, once, when a full scan was wanted since the last one taken. */
  takeFullScan(): boolean {
    const wanted = this.fullScanWanted;
    this.fullScanWanted = false;
    return wanted;
  }

  /** How long the last full scan took (wall time): polling rescans are spaced in proportion. */
  noteScanDuration(ms: number): void {
    this.lastScanMs = ms;
  }

  /** Paths the watcher named that no cycle has taken yet (the cursor message reports them). */
  dirtyCount(): number {
    return this.dirty.size;
  }

  /** Local changes noted and not yet handled, for `warmsync status`. */
  pendingLocal(): number {
    return this.dirty.size + this.deletionBurst.size;
  }

  /**
   * Schedules a flush after `delayMs` of quiet (at least the git quiet time after the event of a
   * file while git is at work). Every watcher event comes here, so the removal of git's index
   * lock, the last thing a checkout or a pull does to the tree, starts the cycle that takes the
   * whole operation, at once.
   */
  scheduleFlush(delayMs = this.deps.debounceMs): void {
    if (this.stopped) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    const filesWhileGit = this.gitTouched && !this.lastEventGit;
    this.flushTimer = setTimeout(
      () => this.flush(),
      filesWhileGit ? Math.max(delayMs, this.gitQuietMs) : delayMs,
    );
  }

  private get gitQuietMs(): number {
    return this.deps.gitQuietMs ?? GIT_QUIET_MS;
  }

  /**
   * Resolves once git holds neither its index lock nor HEAD's and either moved HEAD after it last
   * touched its index (a checkout's last step) or has been quiet since for the git quiet time plus
   * `extraQuietMs` (the caller's time observing, so that a HEAD moved late is waited for as long
   * as a cycle started after the quiet time would have); or after `maxMs` (a lock left behind by a
   * git that died). A cycle of a checkout reads the branch then, so that it sees HEAD moved. Git's
   * events that come meanwhile lengthen the wait.
   */
  async gitSettled(extraQuietMs = 0, maxMs = GIT_BUSY_RECHECK_MS): Promise<void> {
    const deadline = performance.now() + maxMs;
    const quiet = this.gitQuietMs + extraQuietMs;
    let busyWaitMs = 1;
    for (;;) {
      const now = performance.now();
      if (now >= deadline) return;
      const headLast = this.lastHeadAt >= this.lastIndexAt;
      const quietLeft = headLast ? 0 : this.lastGitEventAt + quiet - now;
      if (quietLeft > 0) await sleep(Math.min(quietLeft, deadline - now));
      else if (await this.deps.gitBusy()) {
        await sleep(Math.min(busyWaitMs, deadline - now));
        busyWaitMs = Math.min(busyWaitMs * 2, 16);
      } else if (this.lastHeadAt >= this.lastIndexAt || performance.now() - this.lastGitEventAt >= quiet)
        return;
    }
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    // A checkout in progress: its files are still being written, and nothing of it is taken
    // until git lets go of its index (the event of the lock's removal schedules the flush again).
    // Taken before the look: the lock was seen after this, so the event of its removal comes after
    // it too, even one the watcher delivers while the look is under way.
    const lookedAt = performance.now();
    if (this.gitTouched && (await this.deps.gitBusy())) {
      // Unless another flush took the work meanwhile: git's next operation has its own events.
      if (this.gitTouched) this.foundBusyAt = lookedAt;
      if (!this.flushTimer) this.scheduleFlush(GIT_BUSY_RECHECK_MS);
      return;
    }
    // The lock found gone before the event of its removal came: events of the last files git
    // wrote may still be on their way (they come before that event). The event is waited for, or
    // the fallback interval, so that the checkout is taken whole.
    if (this.foundBusyAt !== undefined) {
      const eventSince = this.lastGitEventAt >= this.foundBusyAt;
      const waited = performance.now() - this.foundBusyAt;
      if (!eventSince && waited < GIT_BUSY_RECHECK_MS) {
        if (!this.flushTimer) this.scheduleFlush(Math.ceil(GIT_BUSY_RECHECK_MS - waited));
        return;
      }
      this.foundBusyAt = undefined;
    }
    if (this.gitTouched) {
      const sequenceLeft =
        this.lastGitEventAt + (this.deps.gitSequenceQuietMs ?? GIT_SEQUENCE_QUIET_MS) - performance.now();
      if (sequenceLeft > 0 && (await this.deps.gitSequencing())) {
        if (!this.flushTimer) this.scheduleFlush(Math.ceil(sequenceLeft));
        return;
      }
    }
    const renamedOnly = new Set<string>();
    for (const [path, renamed] of this.onlyRenamed)
      if (renamed && this.dirty.has(path)) renamedOnly.add(path);
    const work: FlushWork = {
      paths: this.dirty,
      renamedOnly,
      full: this.fullScanWanted,
      gitTouched: this.gitTouched,
    };
    this.dirty = new Set();
    this.onlyRenamed = new Map();
    this.fullScanWanted = false;
    this.gitTouched = false;
    await this.deps.flush(work);
  }

  /** Schedules the next full rescan, then the one after it, until stopped. */
  scheduleRescan(): void {
    if (this.stopped) return;
    // Polling is the only detector where no events arrive: it runs at least every second. Where
    // events arrive, the rescan is the safety net that repairs a change the events missed, every
    // 5 s or more (--rescan-ms). Either way at most ~0.25% of a core goes to it (400x the last
    // scan's time).
    const floor = this.deps.rescanMinMs;
    const interval = this.deps.polling()
      ? Math.max(Math.min(floor ?? 1000, 1000), this.lastScanMs * 400)
      : Math.max(floor ?? DEFAULT_RESCAN_MIN_MS, this.lastScanMs * 400);
    this.rescanTimer = setTimeout(async () => {
      if (await this.putOffRescan()) {
        this.scheduleRescan();
        return;
      }
      await this.deps.rescan();
      this.scheduleRescan();
    }, interval);
  }

  /**
   * A scan in the middle of a checkout would push files git is still writing, so rescans wait
   * while git holds its lock; a lock held for RESCAN_GIT_WAIT_MAX_MS is taken as left behind by
   * a git that died, and rescans go on (the files of a live checkout are taken again when it ends).
   */
  private async putOffRescan(): Promise<boolean> {
    if (!(await this.deps.gitBusy())) {
      this.rescanPutOffSince = undefined;
      return false;
    }
    this.rescanPutOffSince ??= Date.now();
    return Date.now() - this.rescanPutOffSince < RESCAN_GIT_WAIT_MAX_MS;
  }

  /**
   * Watcher events are handled at once, so a read can land in the middle of a save. Such a path
   * (`midWrite`) is looked at again SETTLE_MS later instead, once: a file that really became
   * empty then syncs as empty. True when the path was put off.
   */
  putOffOnce(path: string, midWrite: boolean): boolean {
    const putOff = this.settling.delete(path);
    if (!midWrite || putOff) return false;
    this.settling.add(path);
    this.noteDirty(path, false);
    this.scheduleFlush(SETTLE_MS);
    return true;
  }

  /**
   * Puts off a watcher cycle that sees a local deletion, with all its paths, until deletions have
   * been quiet for DELETION_QUIET_MS (at most DELETION_BURST_MAX_MS after the first): the events
   * of one `rm -rf` come in many small bursts, and the safety halt must judge them as one batch.
   */
  holdDeletionBurst(paths: Iterable<string>): void {
    const now = Date.now();
    if (this.deletionBurst.size === 0) this.deletionBurstStarted = now;
    for (const path of paths) this.deletionBurst.add(path);
    if (this.deletionTimer) clearTimeout(this.deletionTimer);
    const wait = Math.max(
      0,
      Math.min(DELETION_QUIET_MS, this.deletionBurstStarted + DELETION_BURST_MAX_MS - now),
    );
    this.deletionTimer = setTimeout(() => {
      this.deletionTimer = undefined;
      const burst = this.deletionBurst;
      this.deletionBurst = new Set();
      this.deps.burst(burst);
    }, wait);
  }

  /** Wakes up when the earliest deferred version is due, and hands over the due ones. */
  scheduleDeferred(): void {
    const deferred = this.deps.deferred();
    if (this.stopped || deferred.size === 0) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const d of deferred.values()) earliest = Math.min(earliest, d.retryAt);
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
    this.deferralTimer = setTimeout(
      () => {
        this.deferralTimer = undefined;
        const due = new Set<string>();
        const now = Date.now();
        for (const [path, d] of this.deps.deferred()) if (d.retryAt <= now) due.add(path);
        if (due.size > 0) this.deps.deferredDue(due);
        else this.scheduleDeferred();
      },
      Math.max(10, earliest - Date.now()),
    );
  }

  /** Cancels every timer; nothing is scheduled any more. */
  stop(): void {
    this.stopped = true;
    for (const timer of [this.flushTimer, this.rescanTimer, this.deferralTimer, this.deletionTimer])
      if (timer) clearTimeout(timer);
  }
}
