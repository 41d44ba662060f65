/**
 * The agent: keeps one folder identical to one workspace on the hub, both ways.
 *
 * All work runs in "cycles", one at a time: observe some paths (or the whole tree), decide each
 * with the pure reconcile rules, push local edits, apply remote versions. Serialising cycles means
 * the base records are only ever changed by one cycle, which is what makes the invariants hold:
 * - nothing is overwritten unless the disk still holds the base version (no lost edits);
 * - a file written from a remote version becomes the base before its watcher event is handled,
 *   so it observes as unchanged and is never pushed back (no sync loops);
 * - the cursor only moves past entries that were applied or superseded, so a crash at any point
 *   re-fetches whatever was not done.
 *
 * The parts, each testable alone: the remote feed (remote-feed.ts: catch-up, live socket, cursor),
 * the scheduler (scheduler.ts: when cycles run), what a cycle observes (cycle-observe.ts), its
 * decisions (core/cycle-plan.ts, core/deletion-guard.ts), the intents a kill left open
 * (intent-settler.ts), the pusher and the remote writer. This file composes them and runs the
 * cycles in one queue.
 */
import type { AgentStatus } from '../core/control-protocol.ts';
import type { FlushProgress } from '../core/flush.ts';
import { describeFolding } from '../core/folding.ts';
import { DEFAULT_IGNORE_OPTIONS } from '../core/ignore.ts';
import type { ProgressReport } from '../core/progress.ts';
import type { Problem } from '../core/protocol.ts';
import { ModeMap, policyOf } from '../core/sync-mode.ts';
import type { AgentOptions, SyncSummary } from './agent-options.ts';
import { BatchProgress, sizeOf } from './batch-progress.ts';
import { ChunkCache } from './chunk-cache.ts';
import { HubClient } from './client.ts';
import { observeCycle, seesLocalDeletion } from './cycle-observe.ts';
import { type CycleParts, planAndRecord, reserveCounters } from './cycle-record.ts';
import { Durability } from './durability.ts';
import { probeFolding } from './fs-probe.ts';
import { currentBranch, gitBusy, gitSequencing } from './git.ts';
import { GitFollower, type GitRefresh } from './git-follow.ts';
import { IntentSettler } from './intent-settler.ts';
import { Limiter } from './limiter.ts';
import { type LocalChunksDeps, offerChunks, openInlineFrames } from './local-chunks.ts';
import { LocalTree } from './local-tree.ts';
import { Pusher } from './pusher.ts';
import { RemoteFeed, transientHubFailure } from './remote-feed.ts';
import { RemoteWriter } from './remote-writer.ts';
import { Scheduler } from './scheduler.ts';
import { AgentState } from './state.ts';
import { SyncHold } from './sync-hold.ts';
import { TextMerger } from './text-merger.ts';
import { CircuitBreaker } from './transfer.ts';
import { TreeWatcher } from './watcher.ts';

export type { AgentOptions, AppliedEvent, SyncSummary } from './agent-options.ts';

/** How a cycle came about. */
interface CycleCause {
  /** Git touched its index or HEAD: the cycle asks git whether the branch moved (a checkout). */
  gitTouched?: boolean;
  /** The hub's batch is a peer's branch switch (for the log). */
  remoteBatch?: boolean;
  /** The paths were named by watcher events: their content is read, and may look mid-write. */
  fromWatcher?: boolean;
  /** Of those, the paths whose events were renames only (see FlushWork.renamedOnly). */
  renamedOnly?: ReadonlySet<string>;
  /** The cycle takes a whole deletion burst: it is not held back again. */
  releasing?: boolean;
  /** The hub's fan-out span of the notification that caused the cycle (tracing only). */
  trace?: string;
  /** Paths git took up or let go of, known after the cycle that saw git's change (see followGitLater). */
  retracked?: readonly string[];
}

const CACHE_BYTES = 32 * 1024 * 1024;

/**
 * A full collection, then JavaScriptCore asked to hand its freed pages back once idle
 * (`Bun.shrink`, where this Bun still has it): after a first sync of 100,000 files that took an
 * idle agent's RSS from about 218 to 198 MiB, where the collection alone kept the pages.
 */
function releaseMemory(): void {
  Bun.gc(true);
  const shrink = (Bun as { shrink?: () => void }).shrink;
  if (typeof shrink === 'function') shrink();
}
/** What the chunk cache keeps after a bulk cycle (see ChunkCache.trim). */
const CACHE_BYTES_AFTER_BULK = 8 * 1024 * 1024;
/**
 * Changes per push request. A first sync goes in slices of 2,000 so that peers start fetching the
 * first slice while the next is uploaded; a checkout goes whole (one transaction) up to 20,000,
 * below the hub's limit of 50,000.
 */
const PUSH_SLICE = 2_000;
const BRANCH_SWITCH_SLICE = 20_000;

/**
 * One folder kept in sync with one workspace: builds its parts (see the file's comment) from
 * `AgentOptions`, and runs every cycle one at a time in one queue.
 *
 * @example
 * const agent = new Agent({ dir, server: 'http://127.0.0.1:7420', workspace: 'web', stateDir });
 * await agent.start(); // ... await agent.stop();
 */
export class Agent {
  readonly state: AgentState;
  readonly tree: LocalTree;
  readonly bytes = { in: 0, out: 0 };
  private readonly git: GitFollower;
  private readonly client: HubClient;
  private readonly cache = new ChunkCache(CACHE_BYTES);
  private readonly durability: Durability;
  private readonly pusher: Pusher;
  private readonly feed: RemoteFeed;
  private readonly scheduler: Scheduler;
  private readonly writer: RemoteWriter;
  private readonly chunks: LocalChunksDeps;
  private readonly intents: IntentSettler;
  private readonly parts: CycleParts;
  private readonly hold: SyncHold;
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: TreeWatcher | undefined;
  private stopped = false;
  private branch: string | undefined;
  private readonly readBranch: (dir: string) => Promise<string | undefined>;
  private lastProblemsSent = '';
  private foldingProbed = false;
  private readonly modes: ModeMap;
  /** Local edits the mode keeps local (receive-only), as last observed. */
  private readonly keptLocal = new Set<string>();
  /** Paths `warmsync revert` asked to bring back to the workspace's version in the next cycle. */
  private readonly reverting = new Set<string>();
  private readonly merger: TextMerger;
  /** The large batch under way (an initial sync, a checkout), for progress. */
  private readonly batch = new BatchProgress();

  constructor(private readonly options: AgentOptions) {
    const log = (line: string) => this.log(line);
    const report = (error: unknown) => this.reportError(error);
    this.readBranch = options.readBranch ?? currentBranch;
    this.state = new AgentState(options.stateDir);
    this.modes = options.modes ?? new ModeMap('two-way');
    this.hold = new SyncHold(options.dir, log);
    this.durability = new Durability(options.dir, options.fsync ?? true);
    const limiter = new Limiter(options.concurrency ?? 64);
    this.tree = new LocalTree(options.dir, limiter, {
      ignore: options.ignore ?? DEFAULT_IGNORE_OPTIONS,
      allowGit: options.allowGit ?? false,
      tracked: new Set(),
      streamFrom: options.streamFilesFrom,
      log,
    });
    this.git = new GitFollower(options.dir, this.tree);
    const traces = options.traces?.with({
      'warmsync.workspace': options.workspace,
      'warmsync.agent': this.state.agentId,
    });
    this.client = new HubClient({
      server: options.server,
      workspace: options.workspace,
      token: options.token,
      ca: options.ca,
      agentId: this.state.agentId,
      onBytes: (direction, n) => {
        this.bytes[direction] += n;
        options.metrics?.bytes.inc({ direction }, n);
      },
      traceparent: traces && (() => traces.active()?.traceparent()),
    });
    this.scheduler = new Scheduler({
      debounceMs: options.debounceMs ?? 0,
      rescanMinMs: options.rescanMinMs,
      polling: () => this.options.poll ?? false,
      allowGit: options.allowGit ?? false,
      gitBusy: () => gitBusy(options.dir),
      gitSequencing: () => gitSequencing(options.dir),
      deferred: () => this.state.deferred,
      flush: (work) =>
        this.enqueue(() =>
          this.cycle(work.full ? 'full' : work.paths, {
            gitTouched: work.gitTouched,
            fromWatcher: true,
            renamedOnly: work.renamedOnly,
          }),
        ).catch(report),
      rescan: () => this.enqueue(() => this.cycle('full')).catch(report),
      burst: (paths) => {
        this.enqueue(() => this.cycle(paths, { fromWatcher: true, releasing: true })).catch(report);
      },
      deferredDue: (paths) => {
        this.enqueue(() => this.cycle(paths)).catch(report);
      },
    });
    const catchUpAndCycle = () =>
      this.enqueue(async () => {
        await this.intents.catchUp();
        return this.cycle(new Set(this.feed.pending.keys()));
      }).catch(report);
    this.feed = new RemoteFeed({
      client: this.client,
      state: this.state,
      allowGit: options.allowGit ?? false,
      log,
      onInvalid: (problem) => this.writer.problems.set(problem.path, problem),
      onStartOver: () => this.intents.dropPushIntents(),
      live: {
        entries: (header, frames) => {
          this.enqueue(async () => {
            const paths = await this.feed.receive(header, () => this.intents.catchUp());
            await openInlineFrames(this.chunks, frames);
            return this.cycle(paths, { remoteBatch: header.batch === 'branch-switch', trace: header.trace });
          }).catch(report);
        },
        wanted: (hashes) => {
          this.enqueue(() => offerChunks(this.chunks, hashes)).catch(report);
        },
        behind: catchUpAndCycle,
        reconnected: catchUpAndCycle,
      },
    });
    this.pusher = new Pusher({
      dir: options.dir,
      agentId: this.state.agentId,
      client: this.client,
      cache: this.cache,
      state: this.state,
      log,
      streamFrom: options.streamFilesFrom,
      metrics: options.metrics,
      onPushed: options.onPushed,
      traces,
    });
    this.writer = new RemoteWriter({
      dir: options.dir,
      tree: this.tree,
      limiter,
      durability: this.durability,
      streamFrom: options.streamFilesFrom,
      state: this.state,
      cache: this.cache,
      client: this.client,
      pusher: this.pusher,
      pending: this.feed.pending,
      observeAgain: (path) => {
        this.scheduler.markDirty(path);
        this.scheduler.scheduleFlush();
      },
      want: (hashes) => this.feed.send({ type: 'wanted', hashes }),
      log,
      metrics: options.metrics,
      onApplied: options.onApplied,
      onWritten: (bytes) => this.batch.advance(1, bytes),
      traces,
    });
    this.chunks = {
      dir: options.dir,
      agentId: this.state.agentId,
      bases: this.state.bases,
      cache: this.cache,
      client: this.client,
      log,
    };
    this.intents = new IntentSettler({
      state: this.state,
      feed: this.feed,
      pusher: this.pusher,
      log,
      wantFullScan: () => this.scheduler.wantFullScan(),
    });
    this.parts = {
      agentId: this.state.agentId,
      state: this.state,
      tree: this.tree,
      pending: this.feed.pending,
      pusher: this.pusher,
      scheduler: this.scheduler,
      writer: this.writer,
      intents: this.intents,
      policyOf: (path, isDir) =>
        this.reverting.has(path) ? policyOf('replica') : this.modes.policyOf(path, isDir),
    };
    this.merger = new TextMerger(
      {
        dir: options.dir,
        state: this.state,
        gather: {
          dir: options.dir,
          baseOf: (p) => this.state.base(p),
          cache: this.cache,
          client: this.client,
          breaker: new CircuitBreaker(),
        },
        log,
        known: (path) => this.feed.pending.get(path) ?? this.state.withheld.get(path),
        policyOf: (path) => this.parts.policyOf(path, false),
        write: (merges, obsOf) => this.writer.writeMerged(merges, obsOf),
      },
      options.merge,
    );
    let ownCounter = 0;
    for (const base of this.state.bases.values()) {
      this.pusher.remember(base.content);
      ownCounter = Math.max(ownCounter, base.vector[this.state.agentId] ?? 0);
    }
    // State written before the counter existed: start above every vector this agent made.
    this.state.raiseCounter(ownCounter);
  }

  get agentId(): string {
    return this.state.agentId;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /**
   * Loads git's tracked paths (tracked files sync even when ignored) and its exclude files; the
   * first time, also finds how DIR's file system compares names, before anything is observed.
   */
  async prepare(): Promise<void> {
    if (!this.foldingProbed) {
      this.foldingProbed = true;
      this.tree.folding = probeFolding(this.options.dir);
      const folds = describeFolding(this.tree.folding);
      if (folds) this.log(`${this.options.dir} does not tell names apart by ${folds}`);
    }
    await this.git.refresh();
    this.branch = await this.readBranch(this.options.dir);
  }

  /**
   * One complete reconcile both ways: catch up with the hub, push every local difference, apply
   * every remote one, repeated until a round changes nothing. Resolves true when DIR and the hub
   * agree: no pending remote versions, no unpushed local edits, and nothing left over that the
   * hub refused or that could not be written here (see `unsynced()`).
   */
  async syncOnce(maxRounds = 8): Promise<boolean> {
    await this.prepare();
    for (let round = 0; round < maxRounds; round++) {
      await this.intents.catchUp();
      const summary = await this.enqueue(() => this.cycle('full'));
      if (summary.pushed === 0 && summary.applied === 0 && this.feed.pending.size === 0) break;
    }
    return this.feed.pending.size === 0 && this.unsynced().length === 0;
  }

  /**
   * Runs until `stop()`: live connection, watcher, periodic rescans.
   *
   * The watcher starts before the first full cycle reads the tree: an edit made once the scan
   * has passed its path (a file deleted or written while the cycle pushes and applies, as a user
   * does right after a restart) then has its event, and the watcher cycle it schedules runs after
   * the full one in the queue. Watching only after the first cycle left such an edit to the next
   * safety rescan, seconds later (a deletion pushed late, or a peer's version written over it).
   */
  async start(): Promise<void> {
    this.log(this.durability.describe());
    await this.prepare();
    await this.feed.waitForHub();
    this.feed.connect();
    this.watcher = new TreeWatcher(this.options.dir, {
      poll: this.options.poll ?? false,
      log: (line) => this.log(line),
      onPath: (name, kind) => this.scheduler.noteWatchEvent(name, kind),
      onMissed: (delayMs) => this.scheduler.noteMissed(delayMs),
    });
    this.options.poll = !(await this.watcher.start());
    try {
      // In the queue, so that no watcher cycle runs before this catch-up or beside it.
      await this.enqueue(async () => {
        await this.intents.catchUp();
        return this.cycle('full', { gitTouched: true });
      });
    } catch (error) {
      // The hub answered once and went away during the first sync (restarted, a network cut):
      // that is an ordinary sync error, not a reason to stop. The live connection catches up
      // when the hub is back and the full cycle is tried again; the watcher runs meanwhile, so
      // edits made until then do not wait for the first rescan.
      if (!transientHubFailure(error)) throw error;
      this.reportError(error);
    }
    this.scheduler.scheduleRescan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.scheduler.stop();
    this.watcher?.close();
    this.feed.close();
    await this.queue.catch(() => {});
    this.state.close();
  }

  /** Problems to report: local paths that cannot sync and remote versions that cannot apply. */
  problems(): Problem[] {
    return [
      ...this.tree.problems.values(),
      ...this.pusher.problems(),
      ...this.writer.problems.values(),
      ...this.writer.deferredProblems(),
      ...(this.options.otherProblems?.() ?? []),
    ];
  }

  /**
   * What keeps DIR and the hub apart although nothing is left to try: local changes the hub
   * refused (a case collision...) and remote versions that cannot be written here.
   */
  unsynced(): Problem[] {
    return [...this.pusher.problems(), ...this.writer.problems.values(), ...this.writer.deferredProblems()];
  }

  /** Number of remote versions known but not yet on disk. */
  pendingCount(): number {
    return this.feed.pending.size;
  }

  // ---- control (the control socket's requests) -----------------------------------------------

  /** Stops pushing and applying once the cycle under way ends; watcher events are still noted. */
  async pause(): Promise<void> {
    await this.enqueue(async () => this.hold.pause());
  }

  /**
   * Syncs again: catches up with the hub and runs a full cycle. `allowDeletes` lets the held
   * deletions of the safety halt go in that cycle; resolves to how many were held.
   */
  async resume(allowDeletes: boolean): Promise<number> {
    const held = this.hold.resume(allowDeletes);
    await this.fullRound().catch((e) => this.reportError(e));
    return held;
  }

  /** The hub's head sequence now (a flush waits until the cursor reaches it). */
  async hubHead(): Promise<number> {
    return (await this.client.changes(this.state.cursor)).head;
  }

  /** One catch-up with the hub and one full cycle (the whole tree scanned), after the cycle under way. */
  async fullRound(): Promise<void> {
    await this.enqueue(async () => {
      await this.intents.catchUp();
      return this.cycle('full');
    });
  }

  /** Where a flush that noted `head` stands, for `judgeFlush`. */
  flushProgress(head: number, scannedSinceRequest: boolean): FlushProgress {
    return {
      head,
      cursor: this.state.cursor,
      waitingRemote: this.feed.waitingUpTo(head),
      scannedSinceRequest,
      unsynced: this.unsynced(),
      paused: this.hold.paused,
      halted: this.hold.held?.reason,
    };
  }

  /**
   * `warmsync revert`: brings the given paths (all kept-local edits when none is given) back to
   * the workspace's version in one cycle. Resolves to the paths reverted.
   */
  async revert(paths: readonly string[]): Promise<string[]> {
    return this.enqueue(async () => {
      const wanted = [...this.keptLocal].filter(
        (kept) => paths.length === 0 || paths.some((p) => p === '' || kept === p || kept.startsWith(`${p}/`)),
      );
      if (wanted.length === 0) return [];
      for (const path of wanted) this.reverting.add(path);
      this.log(`reverting ${wanted.length} local change(s) to the workspace's version`);
      await this.cycle(new Set(wanted));
      return wanted.filter((path) => !this.keptLocal.has(path));
    });
  }

  /** The paths whose mode keeps them out of sync on purpose, with why (for status). */
  private modePaths(): Problem[] {
    const out: Problem[] = [];
    for (const path of this.keptLocal)
      out.push({
        path,
        code: 'kept-local',
        message: `local change kept local (${this.modes.modeOf(path)}); warmsync revert ${path} drops it`,
      });
    for (const [path, entry] of this.state.withheld)
      if (!this.keptLocal.has(path))
        out.push({
          path,
          code: 'not-applied',
          message: `remote version ${entry.seq} not written here (${this.modes.modeOf(path)})`,
        });
    return out;
  }

  /** What `warmsync status DIR` shows. */
  localStatus(): Omit<AgentStatus, 'workspace' | 'server'> {
    const paths = [...this.problems(), ...this.modePaths()];
    for (const [path, entry] of this.feed.pending)
      if (!this.state.deferred.has(path))
        paths.push({ path, code: 'pending', message: `remote version ${entry.seq} not applied yet` });
    const { held } = this.hold;
    return {
      dir: this.options.dir,
      agent: this.agentId,
      mode: this.modes.uniform ? this.modes.agentMode : `${this.modes.agentMode}, with path rules`,
      merges: this.merger.pushed,
      progress: this.progress(),
      state: this.hold.describe(),
      halted: held && `${held.deletions} deletion(s) held: ${held.reason}`,
      cursor: this.state.cursor,
      headSeen: this.feed.highestSeen,
      pendingRemote: this.feed.pending.size,
      pendingLocal: this.scheduler.pendingLocal(),
      paths: paths.slice(0, 1000),
    };
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  private reportError(error: unknown): void {
    if (this.stopped) return;
    this.log(`sync error: ${error instanceof Error ? error.message : String(error)}`);
    // Retry the work that failed on the next flush; the cursor did not move past it.
    this.scheduler.wantFullScan();
    this.scheduler.scheduleFlush(1000);
  }

  // ---- the cycle -----------------------------------------------------------------------------

  private async cycle(paths: Set<string> | 'full', cause: CycleCause = {}): Promise<SyncSummary> {
    if (this.hold.paused) {
      // Paused: what the watcher names waits for resume, whose full cycle looks at everything.
      if (paths !== 'full') for (const path of paths) this.scheduler.markDirty(path);
      return { pushed: 0, applied: 0, problems: this.problems() };
    }
    if (paths !== 'full' && this.scheduler.takeFullScan()) paths = 'full';
    return this.cycleOf(paths, cause);
  }

  /**
   * Git's answer to a cycle that went on without it: the paths whose verdict it changed are
   * looked at in a cycle of their own, whatever the rules say of them now, as that cycle would have.
   */
  private followGitLater(refresh: GitRefresh | undefined): void {
    if (!refresh) return;
    if (refresh.rulesChanged) this.scheduler.wantFullScan();
    if (refresh.retracked.length === 0 && !refresh.rulesChanged) return;
    const paths = new Set<string>(refresh.retracked);
    this.enqueue(() => this.cycle(paths, { retracked: refresh.retracked })).catch((error) =>
      this.reportError(error),
    );
  }

  private async cycleOf(paths: Set<string> | 'full', cause: CycleCause): Promise<SyncSummary> {
    const fromWatcher = cause.fromWatcher ?? false;
    // A push whose answer was lost is settled before anything is decided on a stale base: the
    // path may have been deleted or edited back since, and its version may be on the hub.
    if (this.intents.pushOpen()) await this.intents.catchUp();
    // ---- git follows git: what git tracks or excludes may have changed (see git-follow.ts).
    // For the paths of a checkout, git is asked (`git ls-files`, a process of its own) while they
    // are observed: only the ignore verdicts that depend on its answer wait for it.
    const regitting = cause.gitTouched || paths === 'full' ? this.git.refreshInStages() : undefined;
    let regitSettled = false;
    // Awaited below; this also keeps an early failure from going unhandled.
    regitting?.done.then(
      () => {
        regitSettled = true;
      },
      () => {
        regitSettled = true;
      },
    );
    let regit = paths === 'full' ? await regitting?.done : undefined;
    // ----
    let branchSwitch = false;
    if (cause.gitTouched) {
      // Git touched its index: a checkout if the branch moved, else a commit or a status refresh.
      const before = this.branch;
      this.branch = await this.readBranch(this.options.dir);
      branchSwitch = before !== this.branch;
      if (branchSwitch) this.log(`branch switch ${before ?? '(none)'} -> ${this.branch ?? '(none)'}`);
    }
    const named = { fromWatcher, renamedOnly: cause.renamedOnly };
    const observing = performance.now();
    let observed = await observeCycle(this.parts, paths, named, regitting);
    const observedForMs = performance.now() - observing;
    if (paths !== 'full' && regitting && !regitSettled) {
      // Judged without git's answer: no verdict of these paths depends on it (see observeCycle),
      // and git's exclude rules did not change. What the answer names (files git took up or let
      // go of under an ignore pattern) is looked at in a cycle of its own, right after.
      regitting.done.then(
        (late) => this.followGitLater(late),
        (error: unknown) => this.log(`reading what git tracks failed: ${(error as Error).message}`),
      );
    } else if (paths !== 'full' && regitting) {
      regit = await regitting.done;
      // Git's exclude files changed: any path may have a new verdict, so the whole tree is looked at.
      if (regit?.rulesChanged) {
        paths = 'full';
        observed = await observeCycle(this.parts, paths, named);
      }
    }
    if (cause.gitTouched && !branchSwitch && observed.size > 0) {
      // Git lets go of its index before it moves HEAD, and the cycle starts at the index lock's
      // removal: HEAD is read again before the batch is judged, once git moved it or has been
      // quiet as long as before a cycle that started after the quiet time and observed as long,
      // so a checkout is pushed whole, as the branch it moved to. With nothing observed there is
      // nothing to label, and HEAD's own event brings a cycle of its own.
      await this.scheduler.gitSettled(observedForMs);
      const now = await this.readBranch(this.options.dir);
      if (now !== this.branch) {
        this.log(`branch switch ${this.branch ?? '(none)'} -> ${now ?? '(none)'}`);
        this.branch = now;
        branchSwitch = true;
      }
    }
    if (fromWatcher && !cause.releasing && !branchSwitch && paths !== 'full') {
      if (seesLocalDeletion(observed, this.state)) {
        this.scheduler.holdDeletionBurst(observed.keys());
        return { pushed: 0, applied: 0, problems: this.problems() };
      }
    }
    // ---- git follows git: a path git took up or let go of is looked at whatever the rules say now
    // (a checkout that removes a file git no longer tracks deletes it on the peers too).
    for (const path of [...(regit?.retracked ?? []), ...(cause.retracked ?? [])])
      if (!observed.has(path))
        observed.set(path, await this.tree.observe(path, this.state.base(path), 'if-stat-changed'));
    // ----
    const { pushes, applies, keptLocal } = planAndRecord(this.parts, observed, fromWatcher);
    for (const path of observed.keys()) {
      this.keptLocal.delete(path);
      this.reverting.delete(path);
    }
    for (const path of keptLocal) this.keptLocal.add(path);
    if (paths === 'full') this.intents.dropUnobservedWrites(observed);
    const recovered = this.intents.takeRecovered();
    if (recovered > 0) this.log(`${recovered} push(es) or write(s) whose outcome was lost had taken effect`);
    const toPush = await this.merger.mergeConcurrentEdits(pushes, observed);
    const allowed = this.hold.guard(toPush, paths === 'full', this.state.bases);
    reserveCounters(this.parts, allowed);
    let pushed = 0;
    // Slices: see PUSH_SLICE (a checkout over 20,000 files is the one case that cannot be a
    // single transaction). A watcher cycle is one change of the user's (a folder moved, copied
    // or removed) and goes whole too, so a peer gets a move's deletions with its additions.
    const whole = branchSwitch || paths !== 'full';
    const sliceSize = this.options.pushSlice ?? (whole ? BRANCH_SWITCH_SLICE : PUSH_SLICE);
    this.batch.begin(
      [...allowed.map((p) => p.content), ...applies.map((a) => a.entry.content)],
      branchSwitch,
    );
    let applied = 0;
    try {
      const recheck = (path: string) => this.scheduler.markDirty(path);
      for (let i = 0; i < allowed.length; i += sliceSize) {
        const slice = allowed.slice(i, i + sliceSize);
        // The next slice's chunks go up while this one commits (see Pusher.sendAhead); its
        // failure only leaves them to its own push, which is why it is not reported.
        const next = allowed.slice(i + sliceSize, i + 2 * sliceSize);
        const ahead = next.length > 0 ? this.pusher.sendAhead(next, recheck).catch(() => {}) : undefined;
        try {
          pushed += await this.pusher.push(slice, this.branch, branchSwitch, recheck);
        } finally {
          await ahead;
        }
        this.batch.advance(
          slice.length,
          slice.reduce((n, p) => n + sizeOf(p.content), 0),
        );
      }
      applied =
        applies.length > 0 ? await this.writer.apply(applies, cause.remoteBatch ?? false, cause.trace) : 0;
    } finally {
      this.batch.end(paths === 'full');
    }
    this.scheduler.scheduleDeferred();
    this.feed.advanceCursor(this.scheduler.dirtyCount());
    this.state.flush();
    // After a large batch (a first sync, a checkout) hand the freed memory back to the system:
    // an idle agent on a big tree should not keep the peak of its first sync.
    if (observed.size > 5000 || pushed + applied > 1000) this.cache.trim(CACHE_BYTES_AFTER_BULK);
    if (observed.size > 5000) releaseMemory();
    this.reportProblems();
    return { pushed, applied, problems: this.problems() };
  }

  /** Progress of the large batch under way (files and bytes both ways), if one is. */
  progress(): ProgressReport | undefined {
    return this.batch.report();
  }

  private reportProblems(): void {
    const problems = this.problems().slice(0, 1000);
    const key = JSON.stringify(problems);
    if (key === this.lastProblemsSent) return;
    this.lastProblemsSent = key;
    for (const p of problems) this.log(`problem: ${p.path}: ${p.message} (${p.code})`);
    this.feed.send({ type: 'problems', problems });
  }
}
