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
 */
import { afterApplyFailure, deferralDelayMs } from '../core/apply-outcome.ts';
import type { AgentStatus } from '../core/control-protocol.ts';
import { judgeDeletions } from '../core/deletion-guard.ts';
import { type EntryContent, exists, type ManifestEntry } from '../core/entry.ts';
import { cursorBelowFloor, expiredDeletions } from '../core/expired-tombstones.ts';
import type { FlushProgress } from '../core/flush.ts';
import { describeFolding } from '../core/folding.ts';
import { type ChunkFrame, FrameError, openFrame } from '../core/frames.ts';
import { DEFAULT_IGNORE_OPTIONS, type IgnoreOptions, IgnoreRules } from '../core/ignore.ts';
import { dropsIgnoredRemote } from '../core/ignored-remote.ts';
import { baseAfterPush, baseAfterWrite, type PushIntent } from '../core/intent.ts';
import { decideUnderMode } from '../core/mode-decision.ts';
import { ancestorPaths, checkRelativePath, TEMP_FILE_PREFIX } from '../core/paths.ts';
import { type LiveHeader, type Problem, WANTED_HASHES_MAX } from '../core/protocol.ts';
import { type BaseVersion, reconcilePath } from '../core/reconcile.ts';
import { baseAfterRollback } from '../core/rollback.ts';
import { ModeMap, policyOf } from '../core/sync-mode.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { type ApplyItem, applyBatch, type ItemOutcome } from './applier.ts';
import { ChunkCache } from './chunk-cache.ts';
import { readChunksOf } from './chunk-gatherer.ts';
import { HubClient, HubError } from './client.ts';
import { Durability } from './durability.ts';
import { probeFolding } from './fs-probe.ts';
import { currentBranch, gitBusy } from './git.ts';
import { GitFollower } from './git-follow.ts';
import { Limiter } from './limiter.ts';
import { LocalTree, type Observation, type ObserveBatch } from './local-tree.ts';
import { type PendingPush, Pusher } from './pusher.ts';
import { AgentState, type BaseRecord } from './state.ts';
import { CircuitBreaker, uploadFrames } from './transfer.ts';
import { TreeWatcher } from './watcher.ts';

export interface AgentOptions {
  dir: string;
  /** Files this large are streamed, never held whole (default STREAMED_FILE_BYTES, 64 MiB). */
  streamFilesFrom?: number;
  server: string;
  workspace: string;
  token?: string;
  /** PEM certificates of a private CA that signs the hub's certificate (`--ca`). */
  ca?: readonly string[];
  stateDir: string;
  ignore?: IgnoreOptions;
  allowGit?: boolean;
  /** Max file operations in flight (default 64). */
  concurrency?: number;
  /**
   * Quiet time before a burst of watcher events is handled (default 0: at once). A read that
   * lands mid-save (the file changes while read, or was just emptied) is retried a few ms later.
   */
  debounceMs?: number;
  /** Shortest interval between full rescans (default 5 s; longer for big trees). */
  rescanMinMs?: number;
  /** Changes per push request (default 2,000, or 20,000 for a checkout; the hub refuses more than 50,000). */
  pushSlice?: number;
  /** Use polling instead of the watcher (network mounts). */
  poll?: boolean;
  /**
   * Flush remote versions to disk before they become visible (default true). Off only for
   * throwaway trees, where a power loss cannot matter.
   */
  fsync?: boolean;
  log?: (line: string) => void;
  /** Called for every remote version written to disk. */
  onApplied?: (event: AppliedEvent) => void;
  /** Prometheus metrics of this agent, when they are served. */
  metrics?: AgentMetrics;
  /** Called after every push with its results. */
  onPushed?: (event: { paths: string[]; bytes: number; conflicts: string[] }) => void;
  /** Problems found beside sync (a refused dependency snapshot), reported with the agent's own. */
  otherProblems?: () => readonly Problem[];
  /** Which way each path syncs (default: every path two-way). */
  modes?: ModeMap;
}

export interface AppliedEvent {
  path: string;
  kind: EntryContent['kind'];
  bytes: number;
  seq: number;
  origin: string;
}

export interface SyncSummary {
  pushed: number;
  applied: number;
  problems: Problem[];
}

const CACHE_BYTES = 32 * 1024 * 1024;
/**
 * Changes per push request. A first sync goes in slices of 2,000 so that peers start fetching the
 * first slice while the next is uploaded; a checkout goes whole (one transaction) up to 20,000,
 * below the hub's limit of 50,000.
 */
const PUSH_SLICE = 2_000;
const BRANCH_SWITCH_SLICE = 20_000;
/** How long a path that looked mid-write is left alone before it is read again. */
const SETTLE_MS = 3;
/** A checkout is settled once git's index lock has been gone and events quiet for this long. */
const CHECKOUT_SETTLE_MS = 60;
/**
 * Watcher cycles that see deletions wait until deletions have been quiet this long (at most
 * DELETION_BURST_MAX_MS), so that a `rm -rf` arrives as one cycle and the safety halt judges it
 * whole instead of letting its first few deletions through.
 */
const DELETION_QUIET_MS = 50;
const DELETION_BURST_MAX_MS = 1000;

export class Agent {
  readonly state: AgentState;
  readonly tree: LocalTree;
  private readonly git: GitFollower;
  private readonly client: HubClient;
  private readonly limiter: Limiter;
  private readonly cache = new ChunkCache(CACHE_BYTES);
  private readonly breaker = new CircuitBreaker();
  private readonly durability: Durability;
  private deferralTimer: ReturnType<typeof setTimeout> | undefined;
  /** Remote versions announced but not yet applied or superseded, by path. */
  private readonly pending = new Map<string, ManifestEntry>();
  private readonly pusher: Pusher;
  private readonly applyProblems = new Map<string, Problem>();
  private highestSeen: number;
  private queue: Promise<unknown> = Promise.resolve();
  private dirty = new Set<string>();
  /** Paths put off once because they looked mid-write. */
  private readonly settling = new Set<string>();
  private fullScanWanted = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private rescanTimer: ReturnType<typeof setTimeout> | undefined;
  private watcher: TreeWatcher | undefined;
  private live: { send: (m: unknown) => void; close: () => void } | undefined;
  private stopped = false;
  private branch: string | undefined;
  private branchSwitching = false;
  private lastScanMs = 0;
  private reconnectDelayMs = 250;
  private lastProblemsSent = '';
  private foldingProbed = false;
  /** `warmsync pause`: nothing is pushed or applied; watcher events are still noted. */
  private paused = false;
  /** The safety halt: why a cycle's deletions are held, and how many, until resumed. */
  private held: { reason: string; deletions: number } | undefined;
  /** `resume --allow-deletes`: the next cycle's deletions go whatever the guard says. */
  private deletesAllowed = false;
  /** Paths of watcher cycles that saw deletions, waiting for deletions to be quiet. */
  private deletionBurst = new Set<string>();
  private deletionBurstStarted = 0;
  private deletionTimer: ReturnType<typeof setTimeout> | undefined;
  private releasingBurst = false;
  /** Intents of a stopped process found to have taken effect in this cycle (for the log). */
  private recoveredIntents = 0;
  private readonly modes: ModeMap;
  /** Local edits the mode keeps local (receive-only), as last observed. */
  private readonly keptLocal = new Set<string>();
  /** Paths `warmsync revert` asked to bring back to the workspace's version in the next cycle. */
  private readonly reverting = new Set<string>();
  readonly bytes = { in: 0, out: 0 };

  constructor(private readonly options: AgentOptions) {
    this.state = new AgentState(options.stateDir);
    this.modes = options.modes ?? new ModeMap('two-way');
    this.durability = new Durability(options.dir, options.fsync ?? true);
    this.limiter = new Limiter(options.concurrency ?? 64);
    this.tree = new LocalTree(options.dir, this.limiter, {
      ignore: options.ignore ?? DEFAULT_IGNORE_OPTIONS,
      allowGit: options.allowGit ?? false,
      tracked: new Set(),
      streamFrom: options.streamFilesFrom,
      log: (line) => this.log(line),
    });
    this.git = new GitFollower(options.dir, this.tree);
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
    });
    this.highestSeen = this.state.cursor;
    this.pusher = new Pusher({
      dir: options.dir,
      agentId: this.state.agentId,
      client: this.client,
      cache: this.cache,
      state: this.state,
      log: (line) => this.log(line),
      streamFrom: options.streamFilesFrom,
      metrics: options.metrics,
      onPushed: options.onPushed,
    });
    let ownCounter = 0;
    for (const base of this.state.bases.values()) {
      this.pusher.remember(base.content);
      ownCounter = Math.max(ownCounter, base.vector[this.state.agentId] ?? 0);
    }
    // State written before the counter existed: start above every vector this agent made.
    this.state.raiseCounter(ownCounter);
    // Deferred versions are pending again: the cursor already moved past them.
    for (const [path, deferred] of this.state.deferred) this.pending.set(path, deferred.entry);
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
    this.branch = await currentBranch(this.options.dir);
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
      await this.catchUp();
      const summary = await this.enqueue(() => this.cycle('full'));
      if (summary.pushed === 0 && summary.applied === 0 && this.pending.size === 0) break;
    }
    return this.pending.size === 0 && this.unsynced().length === 0;
  }

  /** Runs until `stop()`: live connection, watcher, periodic rescans. */
  async start(): Promise<void> {
    this.log(this.durability.describe());
    await this.prepare();
    await this.waitForHub();
    this.connectLive();
    try {
      await this.catchUp();
      await this.enqueue(() => this.cycle('full', true));
    } catch (error) {
      // The hub answered once and went away during the first sync (restarted, a network cut):
      // that is an ordinary sync error, not a reason to stop. The live connection catches up
      // when the hub is back and the full cycle is tried again; the watcher must run meanwhile,
      // or edits made until then would wait for the first rescan.
      if (!transientHubFailure(error)) throw error;
      this.reportError(error);
    }
    await this.startWatcher();
    this.scheduleRescan();
  }

  /**
   * Retries the first contact with the hub with backoff (up to 30 s apart) while it cannot be
   * reached: a container may start before its hub. A hub that answers and refuses (a bad token, a
   * bad workspace name), or whose certificate does not verify, is final and thrown at once: waiting
   * would only hide a setting to fix.
   */
  private async waitForHub(): Promise<void> {
    let delay = 500;
    for (;;) {
      try {
        await this.client.changes(this.state.cursor);
        return;
      } catch (error) {
        if (this.stopped || !transientHubFailure(error)) throw error;
        if (error instanceof HubError && error.certificate) throw error;
        this.log(
          `waiting for the hub (${(error as Error).message}); next try in ${Math.round(delay / 1000)} s`,
        );
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.rescanTimer) clearTimeout(this.rescanTimer);
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
    if (this.deletionTimer) clearTimeout(this.deletionTimer);
    this.watcher?.close();
    this.live?.close();
    await this.queue.catch(() => {});
    this.state.close();
  }

  /** Problems to report: local paths that cannot sync and remote versions that cannot apply. */
  problems(): Problem[] {
    return [
      ...this.tree.problems.values(),
      ...this.pusher.problems(),
      ...this.applyProblems.values(),
      ...this.deferredProblems(),
      ...(this.options.otherProblems?.() ?? []),
    ];
  }

  /** Remote versions waiting to be tried again (a missing chunk, an unreadable local path...). */
  private deferredProblems(): Problem[] {
    return [...this.state.deferred.entries()].map(([path, d]) => ({
      path,
      code: 'deferred',
      message: `not applied yet (${d.problem}); try ${d.attempts + 1} soon`,
    }));
  }

  /**
   * What keeps DIR and the hub apart although nothing is left to try: local changes the hub
   * refused (a case collision...) and remote versions that cannot be written here.
   */
  unsynced(): Problem[] {
    return [...this.pusher.problems(), ...this.applyProblems.values(), ...this.deferredProblems()];
  }

  /** Number of remote versions known but not yet on disk. */
  pendingCount(): number {
    return this.pending.size;
  }

  // ---- control (the control socket's requests) -----------------------------------------------

  /** Stops pushing and applying once the cycle under way ends; watcher events are still noted. */
  async pause(): Promise<void> {
    await this.enqueue(async () => {
      this.paused = true;
      this.log('paused: nothing is pushed or applied until warmsync resume');
    });
  }

  /**
   * Syncs again: catches up with the hub and runs a full cycle. `allowDeletes` lets the held
   * deletions of the safety halt go in that cycle; resolves to how many were held.
   */
  async resume(allowDeletes: boolean): Promise<number> {
    const held = this.held?.deletions ?? 0;
    this.paused = false;
    this.deletesAllowed = allowDeletes && held > 0;
    this.log(allowDeletes && held > 0 ? `resumed; letting ${held} held deletion(s) go` : 'resumed');
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
      await this.catchUp();
      return this.cycle('full');
    });
  }

  /** Where a flush that noted `head` stands, for `judgeFlush`. */
  flushProgress(head: number, scannedSinceRequest: boolean): FlushProgress {
    let waitingRemote = 0;
    for (const entry of this.pending.values())
      if (entry.seq <= head && this.state.deferred.get(entry.path)?.entry.seq !== entry.seq) waitingRemote++;
    return {
      head,
      cursor: this.state.cursor,
      waitingRemote,
      scannedSinceRequest,
      unsynced: this.unsynced(),
      paused: this.paused,
      halted: this.held?.reason,
    };
  }

  /**
   * `warmsync revert`: brings the given paths (all kept-local edits when none is given) back to
   * the workspace's version in one cycle. Resolves to the paths reverted.
   */
  async revert(paths: readonly string[]): Promise<string[]> {
    return this.enqueue(async () => {
      const wanted =
        paths.length === 0
          ? [...this.keptLocal]
          : [...this.keptLocal].filter((kept) =>
              paths.some((p) => p === '' || kept === p || kept.startsWith(`${p}/`)),
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
    for (const [path, entry] of this.pending)
      if (!this.state.deferred.has(path))
        paths.push({ path, code: 'pending', message: `remote version ${entry.seq} not applied yet` });
    return {
      dir: this.options.dir,
      agent: this.agentId,
      mode: this.modes.uniform ? this.modes.agentMode : `${this.modes.agentMode}, with path rules`,
      state: this.held ? 'halted' : this.paused ? 'paused' : 'running',
      halted: this.held && `${this.held.deletions} deletion(s) held: ${this.held.reason}`,
      cursor: this.state.cursor,
      headSeen: this.highestSeen,
      pendingRemote: this.pending.size,
      pendingLocal: this.dirty.size + this.deletionBurst.size,
      paths: paths.slice(0, 1000),
    };
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  // ---- hub side -------------------------------------------------------------------------------

  /**
   * Reads the hub's entries past the cursor, or from further back when a push's outcome is
   * unknown (its answer lost to a kill or to a hub that went away): from the cursor it was sent
   * at, since the cursor may have moved past the entry the hub made of it. That entry, or its
   * absence once the whole range is read, settles the push (see core/intent.ts).
   *
   * Resolves true when the hub went back (a new epoch, or a head below the cursor) and the
   * workspace was read again from zero: every path is then reconciled against what the hub holds
   * now (see `rollback.ts`).
   */
  private async catchUp(): Promise<boolean> {
    const open = [...this.state.intents].filter((e): e is [string, PushIntent] => e[1].op === 'push');
    let since = Math.max(Math.min(this.state.cursor, ...open.map(([, intent]) => intent.since)), 0);
    let startedOver = false;
    /** Set when the hub dropped deletions after `since`: every path the full read lists. */
    let listed: Set<string> | undefined;
    for (;;) {
      const page = await this.client.changes(since);
      const known = this.state.epoch;
      const cursor = Math.max(this.state.cursor, 0);
      if (!startedOver && ((known && page.epoch && page.epoch !== known) || page.head < cursor)) {
        this.log(
          `the hub went back (epoch ${known ?? 'none'} -> ${page.epoch || 'none'}, head ${page.head}, cursor ${cursor}); reading the workspace again from zero`,
        );
        this.startOver();
        startedOver = true;
        since = 0;
        continue;
      }
      if (!listed && cursorBelowFloor(since, page.floor)) {
        this.log(
          `the hub dropped deletions up to ${page.floor} (past retention) and this agent read up to ${since}; reading the whole workspace to find them`,
        );
        listed = new Set();
        since = 0;
        continue;
      }
      if (page.epoch && page.epoch !== known) this.state.setEpoch(page.epoch);
      for (const entry of page.entries) {
        listed?.add(entry.path);
        this.settlePush(entry.path, entry);
        this.noteRemote(entry);
      }
      if (listed && (!page.more || page.entries.length === 0))
        for (const gone of expiredDeletions(this.state.bases, listed, page.floor ?? page.head))
          if (!this.pending.has(gone.path)) this.noteRemote(gone);
      this.highestSeen = Math.max(this.highestSeen, page.head, ...page.entries.map((e) => e.seq));
      if (!page.more || page.entries.length === 0) break;
      since = page.entries[page.entries.length - 1]!.seq;
    }
    // Read from before each of them: the hub holds no version of their paths made since.
    for (const [path, intent] of open) if (this.state.intents.get(path) === intent) this.settlePush(path);
    if (startedOver) this.rebaseAfterRollback();
    return startedOver;
  }

  /** Settles `path`'s push intent, if any, given the hub's version of it after the push was sent. */
  private settlePush(path: string, hub?: ManifestEntry): void {
    const intent = this.state.intents.get(path);
    if (intent?.op !== 'push' || (hub && hub.seq <= intent.since)) return;
    this.settleIntent(path, baseAfterPush(this.state.base(path), intent, hub));
  }

  /**
   * Forgets every sequence number of the old epoch: the cursor, the versions waiting, and push
   * intents (their sequence numbers meant the old epoch; an unsettled push leaves the old base, so
   * the pushed content is sent again).
   */
  private startOver(): void {
    this.state.setCursor(0);
    this.highestSeen = 0;
    this.pending.clear();
    for (const path of [...this.state.deferred.keys()]) this.state.setDeferred(path, undefined);
    for (const [path, intent] of [...this.state.intents])
      if (intent.op === 'push') this.state.dropIntent(path);
  }

  /** After a catch-up from zero: bases the hub no longer holds become local edits to push again. */
  private rebaseAfterRollback(): void {
    let lost = 0;
    for (const [path, base] of [...this.state.bases]) {
      const hub = this.pending.get(path);
      const next = baseAfterRollback(base, hub);
      if (next === base) continue;
      // No stat: the file must be read again rather than taken as the (rewritten) base.
      this.state.setBase(path, { content: next.content, vector: next.vector });
      lost++;
    }
    if (lost > 0) this.log(`the hub lacks the latest version of ${lost} path(s); sending them again`);
    this.fullScanWanted = true;
  }

  private noteRemote(entry: ManifestEntry): void {
    const check = checkRelativePath(entry.path, { allowGit: this.options.allowGit ?? false });
    if (!check.ok) {
      this.applyProblems.set(entry.path, {
        path: entry.path,
        code: `invalid-path:${check.code}`,
        message: check.reason,
      });
      return;
    }
    const known = this.pending.get(entry.path);
    if (!known || known.seq < entry.seq) {
      this.pending.set(entry.path, entry);
      // A newer version replaces one that was waiting: the wait is over, the new one is tried.
      if (this.state.deferred.has(entry.path)) this.state.setDeferred(entry.path, undefined);
    }
  }

  private connectLive(): void {
    if (this.stopped) return;
    this.live = this.client.live({
      onOpen: () => {
        this.reconnectDelayMs = 250;
        this.log('live connection open');
      },
      onMessage: (header, frames) => this.onLive(header, frames),
      onClose: (reason) => {
        if (this.stopped) return;
        this.log(`live connection lost (${reason}); reconnecting in ${this.reconnectDelayMs} ms`);
        setTimeout(() => {
          this.connectLive();
          this.enqueue(() => this.catchUp().then(() => this.cycle(new Set(this.pending.keys())))).catch((e) =>
            this.reportError(e),
          );
        }, this.reconnectDelayMs);
        this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5000);
      },
    });
  }

  private onLive(header: LiveHeader, frames: ChunkFrame[]): void {
    if (header.type === 'wanted') {
      this.enqueue(() => this.offerChunks(header.hashes)).catch((e) => this.reportError(e));
      return;
    }
    if (header.type === 'hello') {
      const epochChanged = header.epoch && this.state.epoch && header.epoch !== this.state.epoch;
      if (header.head !== this.state.cursor || epochChanged) {
        this.enqueue(async () => {
          await this.catchUp();
          return this.cycle(new Set(this.pending.keys()));
        }).catch((e) => this.reportError(e));
      }
      return;
    }
    this.enqueue(async () => {
      if (header.from > this.highestSeen + 1) await this.catchUp();
      for (const entry of header.entries) if (entry.seq > this.state.cursor) this.noteRemote(entry);
      this.highestSeen = Math.max(this.highestSeen, header.to);
      await this.openInlineFrames(frames);
      return this.cycle(new Set(header.entries.map((e) => e.path)), false, header.batch === 'branch-switch');
    }).catch((e) => this.reportError(e));
  }

  private async openInlineFrames(frames: ChunkFrame[]): Promise<void> {
    for (const frame of frames) {
      if (this.cache.has(frame.hash)) continue;
      if (frame.base && !this.cache.has(frame.base)) await this.loadLocalChunk(frame.base);
      try {
        this.cache.set(
          frame.hash,
          openFrame(frame, (h) => this.cache.get(h)),
        );
      } catch (error) {
        // An inline chunk that does not open is simply fetched later.
        if (!(error instanceof FrameError)) throw error;
      }
    }
  }

  /** Finds a chunk in the local copy of a base version that contains it. */
  private async loadLocalChunk(hash: string): Promise<void> {
    for (const [path, base] of this.state.bases) {
      if (base.content.kind !== 'file') continue;
      const index = base.content.chunks.findIndex(([h]) => h === hash);
      if (index < 0) continue;
      // A local copy that is gone or changed does not hold it; another may.
      readChunksOf(this.options.dir, path, base.content.chunks, (h) => h === hash, this.cache);
      if (this.cache.has(hash)) return;
    }
  }

  /**
   * Uploads again the chunks another agent could not get from the hub (lost or damaged there),
   * from the local files that hold them, each verified against its hash before it is sent.
   */
  private async offerChunks(hashes: readonly string[]): Promise<void> {
    const wanted = new Set(hashes);
    const found = new Map<string, Uint8Array>();
    for (const [path, base] of this.state.bases) {
      if (wanted.size === found.size) break;
      if (base.content.kind !== 'file' || !base.content.chunks.some(([h]) => wanted.has(h) && !found.has(h)))
        continue;
      // Only the wanted chunks are read; a copy not readable here any more holds none of them.
      readChunksOf(this.options.dir, path, base.content.chunks, (h) => wanted.has(h) && !found.has(h), found);
    }
    if (found.size === 0) return;
    const specs = [...found].map(([h, b]): [string, number] => [h, b.length]);
    const bytes = new Uint8Array(specs.reduce((n, [, size]) => n + size, 0));
    let offset = 0;
    for (const [h] of specs) {
      bytes.set(found.get(h)!, offset);
      offset += found.get(h)!.length;
    }
    const frames = uploadFrames(specs, bytes, undefined, this.cache, () => false);
    await this.client.push({ agent: this.agentId, batch: 'edits', changes: [] }, frames);
    this.log(`uploaded ${frames.length} chunk(s) that another agent could not get from the hub`);
  }

  private reportError(error: unknown): void {
    if (this.stopped) return;
    this.log(`sync error: ${error instanceof Error ? error.message : String(error)}`);
    // Retry the work that failed on the next flush; the cursor did not move past it.
    this.fullScanWanted = true;
    this.scheduleFlush(1000);
  }

  // ---- local side ----------------------------------------------------------------------------

  private async startWatcher(): Promise<void> {
    this.watcher = new TreeWatcher(this.options.dir, {
      poll: this.options.poll ?? false,
      log: (line) => this.log(line),
      onPath: (name) => {
        this.onWatchEvent(name);
        this.scheduleFlush();
      },
      onMissed: (delayMs) => {
        this.fullScanWanted = true;
        this.scheduleFlush(delayMs);
      },
    });
    this.options.poll = !(await this.watcher.start());
  }

  private onWatchEvent(name: string): void {
    const path = name.split('\\').join('/');
    if (
      path === '.git/HEAD' ||
      path === '.git/index.lock' ||
      path === '.git/index' ||
      path === '.git/info/exclude'
    ) {
      this.branchSwitching = true;
      return;
    }
    if (path.startsWith('.git/') && !this.options.allowGit) return;
    // A temporary file, or anything inside a staging folder (a node_modules being restored or
    // installed): never synced, and the hub would refuse the whole push for it.
    if (path.startsWith(TEMP_FILE_PREFIX) || path.includes(`/${TEMP_FILE_PREFIX}`)) return;
    this.dirty.add(path);
  }

  private scheduleFlush(delayMs = this.options.debounceMs ?? 0): void {
    if (this.stopped) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(
      () => this.flush(),
      this.branchSwitching ? Math.max(delayMs, CHECKOUT_SETTLE_MS) : delayMs,
    );
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    if (this.branchSwitching && (await gitBusy(this.options.dir))) {
      this.scheduleFlush(CHECKOUT_SETTLE_MS);
      return;
    }
    const paths = this.dirty;
    this.dirty = new Set();
    const full = this.fullScanWanted;
    this.fullScanWanted = false;
    const switching = this.branchSwitching;
    this.branchSwitching = false;
    await this.enqueue(() => this.cycle(full ? 'full' : paths, switching, false, true)).catch((e) =>
      this.reportError(e),
    );
  }

  private scheduleRescan(): void {
    if (this.stopped) return;
    // Keep rescans under ~0.25% of a core: wait at least 400x as long as the last scan took.
    // Polling is the only detector where no events arrive, so it runs at least every second.
    const floor = this.options.poll
      ? Math.min(this.options.rescanMinMs ?? 1000, 1000)
      : (this.options.rescanMinMs ?? 5000);
    const interval = Math.max(floor, this.lastScanMs * 400);
    this.rescanTimer = setTimeout(async () => {
      await this.enqueue(() => this.cycle('full')).catch((e) => this.reportError(e));
      this.scheduleRescan();
    }, interval);
  }

  // ---- the cycle -----------------------------------------------------------------------------

  /**
   * Observes the paths of a cycle. `fromWatcher`: the paths were named by filesystem events, so
   * their content is read even when their stat looks unchanged; paths named by the hub are read
   * only when their stat changed (the stat cache proves the rest equal to their base).
   */
  private async observeAll(
    paths: Set<string> | 'full',
    fromWatcher: boolean,
  ): Promise<Map<string, Observation>> {
    const out = new Map<string, Observation>();
    const batch = this.tree.batch();
    if (paths === 'full') {
      const started = performance.now();
      const { found, unknownFolders } = await this.tree.scan((p) => this.state.base(p));
      this.lastScanMs = performance.now() - started;
      for (const [path, obs] of found) out.set(path, obs);
      const unknownBelow = (path: string) =>
        unknownFolders.size > 0 && ancestorPaths(path).some((folder) => unknownFolders.has(folder));
      for (const [path, base] of this.state.bases) {
        if (out.has(path) || !exists(base.content)) continue;
        if (this.tree.rules.isIgnored(path, base.content.kind === 'dir')) continue;
        // Below a folder that could not be listed, absence proves nothing: unknown, not deleted.
        if (unknownBelow(path)) {
          out.set(path, { content: base.content, unknown: 'its folder cannot be listed' });
          continue;
        }
        out.set(path, { content: { kind: 'deleted' } });
      }
      for (const path of this.pending.keys()) {
        if (out.has(path)) continue;
        out.set(
          path,
          unknownBelow(path)
            ? { content: { kind: 'deleted' }, unknown: 'its folder cannot be listed' }
            : await this.tree.observe(path, this.state.base(path), false, batch),
        );
      }
      return out;
    }
    let rulesChanged = false;
    await Promise.all(
      [...paths].map(async (path) => {
        if (IgnoreRules.isIgnoreFile(path)) rulesChanged = true;
        const obs = await this.tree.observe(path, this.state.base(path), fromWatcher, batch);
        out.set(path, obs);
        // A new folder's files may have been written before the watcher saw the folder.
        if (obs.content.kind === 'dir' && this.state.base(path)?.content.kind !== 'dir')
          this.fullScanWanted = true;
      }),
    );
    await this.observeContentsOfGoneFolders(out, batch);
    if (rulesChanged) this.fullScanWanted = true;
    for (const [path, obs] of out) {
      const isDir = obs.content.kind === 'dir' || this.state.base(path)?.content.kind === 'dir';
      if (this.tree.rules.isIgnored(path, isDir) && !this.pending.has(path)) out.delete(path);
    }
    return out;
  }

  /**
   * A folder moved away or removed takes its contents with it, but the watcher names only the
   * folder. Its contents are observed in the same cycle, so their deletions travel in the same
   * batch as the folder's and a peer removes the folder instead of finding it not empty. A folder
   * whose state is unknown is not gone: its contents are left alone.
   */
  private async observeContentsOfGoneFolders(
    out: Map<string, Observation>,
    batch: ObserveBatch,
  ): Promise<void> {
    const gone = [...out]
      .filter(
        ([path, obs]) =>
          !obs.unknown && obs.content.kind === 'deleted' && this.state.base(path)?.content.kind === 'dir',
      )
      .map(([path]) => `${path}/`);
    if (gone.length === 0) return;
    const inside = [...this.state.bases]
      .filter(
        ([path, base]) => exists(base.content) && !out.has(path) && gone.some((g) => path.startsWith(g)),
      )
      .map(([path]) => path);
    await Promise.all(
      inside.map(async (path) =>
        out.set(path, await this.tree.observe(path, this.state.base(path), false, batch)),
      ),
    );
  }

  private async cycle(
    paths: Set<string> | 'full',
    branchSwitch = false,
    remoteBatch = false,
    fromWatcher = false,
  ): Promise<SyncSummary> {
    if (this.paused) {
      // Paused: what the watcher names waits for resume, whose full cycle looks at everything.
      if (paths !== 'full') for (const path of paths) this.dirty.add(path);
      return { pushed: 0, applied: 0, problems: this.problems() };
    }
    const releasing = this.releasingBurst;
    this.releasingBurst = false;
    if (paths !== 'full' && this.fullScanWanted) {
      this.fullScanWanted = false;
      paths = 'full';
    }
    // A push whose answer was lost is settled before anything is decided on a stale base: the
    // path may have been deleted or edited back since, and its version may be on the hub.
    if ([...this.state.intents.values()].some((intent) => intent.op === 'push')) await this.catchUp();
    // ---- git follows git: what git tracks or excludes may have changed (see git-follow.ts).
    const regit = branchSwitch || paths === 'full' ? await this.git.refresh() : undefined;
    if (regit?.rulesChanged) paths = 'full';
    // ----
    if (branchSwitch) {
      // Git touched its index: a checkout if the branch moved, else a commit or a status refresh.
      const before = this.branch;
      this.branch = await currentBranch(this.options.dir);
      branchSwitch = before !== this.branch;
      if (branchSwitch) this.log(`branch switch ${before ?? '(none)'} -> ${this.branch ?? '(none)'}`);
    }
    const observed = await this.observeAll(paths, fromWatcher);
    if (fromWatcher && !releasing && !branchSwitch && paths !== 'full' && this.holdForDeletionBurst(observed))
      return { pushed: 0, applied: 0, problems: this.problems() };
    // ---- git follows git: a path git took up or let go of is looked at whatever the rules say now
    // (a checkout that removes a file git no longer tracks deletes it on the peers too).
    for (const path of regit?.retracked ?? [])
      if (!observed.has(path))
        observed.set(path, await this.tree.observe(path, this.state.base(path), false));
    // ----
    const pushes: PendingPush[] = [];
    const applies: Array<{ entry: ManifestEntry; obs: Observation }> = [];
    const now = Date.now();
    for (const [path, obs] of observed) {
      if (fromWatcher && this.mayBeMidWrite(path, obs, this.state.base(path))) continue;
      const remote = this.pending.get(path);
      if (obs.unknown) {
        // Its state cannot be seen: nothing is pushed, nothing is written over it; a remote
        // version waits (deferred) so the cursor can move on, and everything is tried again later.
        if (remote) this.defer(remote, obs.unknown, now);
        continue;
      }
      const base = this.settleWrite(path, obs);
      if (remote && dropsIgnoredRemote(this.tree.rules, path, obs.content, base?.content, remote.content)) {
        this.pending.delete(path);
        continue;
      }
      const policy = this.reverting.has(path)
        ? policyOf('replica')
        : this.modes.policyOf(path, obs.content.kind === 'dir');
      // The workspace's version: announced now, or withheld earlier by this path's mode.
      const withheld = this.state.withheld.get(path);
      const known = remote ?? withheld;
      const decision = decideUnderMode(
        policy,
        reconcilePath(this.agentId, base, obs.content, known),
        this.agentId,
        base,
        known,
      );
      if (decision.type !== 'keep-local') this.keptLocal.delete(path);
      if (withheld && decision.type !== 'keep-local' && decision.type !== 'skip-remote')
        this.state.setWithheld(path, undefined);
      this.reverting.delete(path);
      switch (decision.type) {
        case 'keep-local':
          // Receive-only: the edit stays here. A newer remote version is withheld, not left
          // pending, so the cursor moves on; revert (or undoing the edit) brings it in.
          this.keptLocal.add(path);
          if (remote) {
            this.pending.delete(path);
            this.state.setWithheld(path, remote);
          }
          break;
        case 'skip-remote':
          // Send-only: the remote version is not written here; a later edit supersedes it.
          this.pending.delete(path);
          if (known) this.state.setWithheld(path, known);
          break;
        case 'overwrite': {
          // Replica (or revert): the workspace's version replaces what the disk holds.
          const entry: ManifestEntry =
            decision.fromRemote && known
              ? known
              : { path, content: decision.content, vector: decision.vector, seq: 0, agent: this.agentId };
          applies.push({ entry, obs });
          break;
        }
        case 'nothing':
          if (remote) this.pending.delete(path);
          // Remember a fresh stat only when the file was re-read: that settles a "racy" stat and
          // spares the next scan a read. Unchanged stats are not rewritten (idle scans write nothing).
          if (base && obs.stat && obs.bytes && obs.content.kind === 'file')
            this.state.setBase(path, { ...base, stat: obs.stat, statAt: Date.now(), ownWrite: false });
          break;
        case 'adopt':
          this.pending.delete(path);
          this.state.setBase(path, {
            content: obs.content,
            vector: decision.vector,
            stat: obs.stat,
            statAt: Date.now(),
          });
          this.pusher.remember(obs.content);
          break;
        case 'push': {
          if (this.pusher.wasRefused(path, decision.content)) break;
          pushes.push({ path, content: decision.content, vector: { ...decision.vector }, obs });
          break;
        }
        case 'apply': {
          if (!known) break;
          // A deferred version waits for its turn (backoff), unless a newer one replaced it.
          const deferred = this.state.deferred.get(path);
          if (deferred && deferred.entry.seq === known.seq && deferred.retryAt > now) break;
          applies.push({ entry: known, obs });
          break;
        }
      }
    }
    if (paths === 'full') {
      // A write whose path a full cycle did not look at is neither on disk nor pending any more.
      for (const [path, intent] of [...this.state.intents])
        if (intent.op === 'apply' && !observed.has(path)) this.state.dropIntent(path);
    }
    if (this.recoveredIntents > 0) {
      this.log(`${this.recoveredIntents} push(es) or write(s) whose outcome was lost had taken effect`);
      this.recoveredIntents = 0;
    }
    const allowed = this.guardDeletions(pushes, paths === 'full');
    this.assignCounters(allowed);
    let pushed = 0;
    // Slices: see PUSH_SLICE (a checkout over 20,000 files is the one case that cannot be a
    // single transaction).
    const sliceSize = this.options.pushSlice ?? (branchSwitch ? BRANCH_SWITCH_SLICE : PUSH_SLICE);
    for (let i = 0; i < allowed.length; i += sliceSize) {
      const slice = allowed.slice(i, i + sliceSize);
      pushed += await this.pusher.push(slice, this.branch, branchSwitch, (path) => this.dirty.add(path));
    }
    const applied = applies.length > 0 ? await this.apply(applies, remoteBatch) : 0;
    this.scheduleDeferred();
    this.advanceCursor();
    this.state.flush();
    // After a large batch (a first sync, a checkout) hand the freed memory back to the system:
    // an idle agent on a big tree should not keep the peak of its first sync.
    if (observed.size > 5000) Bun.gc(true);
    this.reportProblems();
    return { pushed, applied, problems: this.problems() };
  }

  /**
   * A watcher cycle that sees a local deletion waits, with all its paths, until deletions have
   * been quiet for DELETION_QUIET_MS: the events of one `rm -rf` come in many small bursts, and
   * the safety halt must judge them as one batch. True when the cycle was put off.
   */
  private holdForDeletionBurst(observed: Map<string, Observation>): boolean {
    const deletes = [...observed].some(
      ([path, obs]) =>
        obs.content.kind === 'deleted' &&
        !obs.unknown &&
        this.state.base(path) !== undefined &&
        exists(this.state.base(path)!.content),
    );
    if (!deletes) return false;
    const now = Date.now();
    if (this.deletionBurst.size === 0) this.deletionBurstStarted = now;
    for (const path of observed.keys()) this.deletionBurst.add(path);
    if (this.deletionTimer) clearTimeout(this.deletionTimer);
    const wait = Math.max(
      0,
      Math.min(DELETION_QUIET_MS, this.deletionBurstStarted + DELETION_BURST_MAX_MS - now),
    );
    this.deletionTimer = setTimeout(() => {
      this.deletionTimer = undefined;
      const burst = this.deletionBurst;
      this.deletionBurst = new Set();
      this.enqueue(() => {
        this.releasingBurst = true;
        return this.cycle(burst, false, false, true);
      }).catch((e) => this.reportError(e));
    }, wait);
    return true;
  }

  /**
   * The safety halt (see deletion-guard.ts): returns the pushes that may go. Deletions judged
   * `hold` stay local (their bases are kept, so every later scan sees them again) until
   * `resume --allow-deletes`. A full cycle with no held deletion clears the halt: the files came
   * back, or the deletions were let go.
   */
  private guardDeletions(pushes: PendingPush[], full: boolean): PendingPush[] {
    const isDeletion = (p: PendingPush) => p.content.kind === 'deleted';
    const deletions = pushes.filter(isDeletion);
    if (deletions.length === 0) {
      if (full && this.held) this.log('halt cleared: no deletion is held any more');
      if (full) this.held = undefined;
      return pushes;
    }
    const isFile = (c: EntryContent | undefined) => c !== undefined && exists(c) && c.kind !== 'dir';
    let knownFiles = 0;
    for (const base of this.state.bases.values()) if (isFile(base.content)) knownFiles++;
    const verdict = judgeDeletions({
      deletedFiles: deletions.filter((p) => isFile(this.state.base(p.path)?.content)).length,
      knownFiles,
      addedFiles: pushes.filter((p) => isFile(p.content) && !isFile(this.state.base(p.path)?.content)).length,
    });
    if (verdict.type === 'allow' || this.deletesAllowed) {
      this.deletesAllowed = false;
      if (full || verdict.type === 'hold') this.held = undefined;
      return pushes;
    }
    if (!this.held || this.held.deletions !== deletions.length)
      this.log(
        `halted: ${deletions.length} local deletion(s) held, not pushed, because ${verdict.reason}; run warmsync resume ${this.options.dir} --allow-deletes to let them go`,
      );
    this.held = { reason: verdict.reason, deletions: deletions.length };
    return pushes.filter((p) => !isDeletion(p));
  }

  /**
   * The path's base, once a write that a kill may have cut short is settled against the disk
   * (see core/intent.ts).
   */
  private settleWrite(path: string, obs: Observation): BaseRecord | undefined {
    const intent = this.state.intents.get(path);
    if (intent?.op === 'apply')
      this.settleIntent(path, baseAfterWrite(this.state.base(path), intent, obs.content));
    return this.state.base(path);
  }

  /** Records what `path`'s intent was found to have done: `settled` is the base it leaves. */
  private settleIntent(path: string, settled: BaseVersion | undefined): void {
    const intent = this.state.intents.get(path)!;
    if (settled === this.state.base(path)) {
      this.state.dropIntent(path);
      return;
    }
    this.recoveredIntents++;
    this.state.setBase(path, { content: settled!.content, vector: settled!.vector });
    if (intent.op === 'push') this.pusher.remember(intent.content);
  }

  /**
   * Watcher events are handled at once, so a read can land in the middle of a save: the file
   * changed during the read, or was just truncated to nothing before its new bytes arrive. Such a
   * path is looked at again a few milliseconds later instead (once: a file that really became
   * empty then syncs as empty).
   */
  private mayBeMidWrite(path: string, obs: Observation, base: BaseRecord | undefined): boolean {
    const putOff = this.settling.delete(path);
    const emptied =
      obs.content.kind === 'file' &&
      obs.content.size === 0 &&
      base?.content.kind === 'file' &&
      base.content.size > 0;
    if ((!obs.unsettled && !emptied) || putOff) return false;
    this.settling.add(path);
    this.dirty.add(path);
    this.scheduleFlush(SETTLE_MS);
    return true;
  }

  /**
   * Gives each local edit of the cycle a fresh value of the agent's durable counter as its own
   * entry in the vector, reserved (written to disk) before the push: a vector is never reused,
   * even when a crash lost the bases of the last push.
   */
  private assignCounters(pushes: PendingPush[]): void {
    if (pushes.length === 0) return;
    let next = this.state.reserveCounter(pushes.length);
    for (const p of pushes) {
      const own = Math.max(p.vector[this.agentId] ?? 0, next++);
      p.vector = { ...p.vector, [this.agentId]: own };
    }
  }

  /** Keeps a remote version that cannot be written now, to try again with backoff. */
  private defer(entry: ManifestEntry, problem: string, now = Date.now()): void {
    const previous = this.state.deferred.get(entry.path);
    const attempts = previous && previous.entry.seq === entry.seq ? previous.attempts + 1 : 1;
    this.state.setDeferred(entry.path, {
      entry,
      attempts,
      problem,
      retryAt: now + deferralDelayMs(attempts),
    });
  }

  /** Wakes up when the earliest deferred version is due, and tries the due ones again. */
  private scheduleDeferred(): void {
    if (this.stopped || this.state.deferred.size === 0) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const d of this.state.deferred.values()) earliest = Math.min(earliest, d.retryAt);
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
    this.deferralTimer = setTimeout(
      () => {
        this.deferralTimer = undefined;
        const due = new Set<string>();
        const now = Date.now();
        for (const [path, d] of this.state.deferred) if (d.retryAt <= now) due.add(path);
        if (due.size > 0) this.enqueue(() => this.cycle(due)).catch((e) => this.reportError(e));
        else this.scheduleDeferred();
      },
      Math.max(10, earliest - Date.now()),
    );
  }

  private advanceCursor(): void {
    let cursor = this.highestSeen;
    for (const entry of this.pending.values()) {
      // A deferred version is kept in the state, so the cursor may move past it.
      if (this.state.deferred.get(entry.path)?.entry.seq === entry.seq) continue;
      cursor = Math.min(cursor, entry.seq - 1);
    }
    if (cursor > this.state.cursor) this.state.setCursor(cursor);
    this.live?.send({ type: 'cursor', cursor: this.state.cursor, pending: this.dirty.size });
  }

  private reportProblems(): void {
    const problems = this.problems().slice(0, 1000);
    const key = JSON.stringify(problems);
    if (key === this.lastProblemsSent) return;
    this.lastProblemsSent = key;
    for (const p of problems) this.log(`problem: ${p.path}: ${p.message} (${p.code})`);
    this.live?.send({ type: 'problems', problems });
  }

  private async apply(applies: ApplyItem[], remoteBatch: boolean): Promise<number> {
    const started = performance.now();
    let applied = 0;
    let totalBytes = 0;
    const missingChunks = new Set<string>();
    // Durable before the first rename: a kill before the writes are recorded as bases leaves
    // them for the next start to recognise on disk (see core/intent.ts).
    this.state.recordIntents(
      applies.map(
        ({ entry }) => [entry.path, { op: 'apply', content: entry.content, vector: entry.vector }] as const,
      ),
    );
    const settle = ({ entry }: ApplyItem, outcome: ItemOutcome) => {
      const content = entry.content;
      if (!outcome.ok) {
        // Not written: nothing on disk to recognise later ('keep-folder' records its base below).
        this.state.dropIntent(entry.path);
        const next = afterApplyFailure({ ...outcome, deletion: !exists(content) });
        switch (next.type) {
          case 'observe-again':
            // An edit landed meanwhile: it is pushed by the next cycle (and may become a conflict).
            this.dirty.add(entry.path);
            this.scheduleFlush();
            break;
          case 'keep-folder':
            // Only ignored or freshly edited things remain inside; keep the folder, accept the version.
            this.pending.delete(entry.path);
            this.state.setDeferred(entry.path, undefined);
            this.state.setBase(entry.path, { content: { kind: 'dir' }, vector: entry.vector });
            break;
          case 'defer':
            this.defer(entry, next.problem);
            if (outcome.code === 'missing-chunks' && content.kind === 'file')
              for (const [hash] of content.chunks) if (!this.cache.has(hash)) missingChunks.add(hash);
            break;
          case 'give-up':
            this.pending.delete(entry.path);
            this.state.setDeferred(entry.path, undefined);
            this.applyProblems.set(entry.path, {
              path: entry.path,
              code: outcome.code,
              message: next.problem,
            });
            break;
        }
        return;
      }
      const bytes = outcome.bytes;
      this.applyProblems.delete(entry.path);
      this.pending.delete(entry.path);
      this.state.setDeferred(entry.path, undefined);
      this.state.setBase(entry.path, {
        content,
        vector: entry.vector,
        stat: outcome.stat,
        statAt: Date.now(),
        ownWrite: true,
      });
      this.pusher.remember(content);
      if (bytes && content.kind === 'file') this.cache.addFile(content.chunks, bytes);
      applied++;
      totalBytes += bytes?.length ?? 0;
      this.options.metrics?.applied.inc({ kind: content.kind });
      this.options.onApplied?.({
        path: entry.path,
        kind: content.kind,
        bytes: bytes?.length ?? 0,
        seq: entry.seq,
        origin: entry.agent,
      });
    };
    await applyBatch(
      {
        dir: this.options.dir,
        folding: this.tree.folding,
        limiter: this.limiter,
        durability: this.durability,
        streamFrom: this.options.streamFilesFrom,
        gather: {
          dir: this.options.dir,
          baseOf: (p: string) => this.state.base(p),
          cache: this.cache,
          client: this.client,
          breaker: this.breaker,
        },
      },
      applies,
      settle,
    );
    if (missingChunks.size > 0) {
      // Ask the workspace's other agents to upload them again (the hub lost or dropped them).
      this.live?.send({ type: 'wanted', hashes: [...missingChunks].slice(0, WANTED_HASHES_MAX) });
      this.log(`${missingChunks.size} chunk(s) could not be had from the hub; their files wait`);
    }
    this.options.metrics?.applyDuration.observe((performance.now() - started) / 1000);
    if (applied > 0) {
      this.log(
        `applied ${applied} change(s)${remoteBatch ? ' of a branch switch' : ''}, ${totalBytes} bytes, in ${Math.round(performance.now() - started)} ms`,
      );
    }
    return applied;
  }
}

/**
 * A failure that may pass when tried again: the hub could not be reached or answered 5xx. A hub
 * that answers and refuses (4xx: a bad token, a bad workspace name) is final.
 */
function transientHubFailure(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return !(status !== undefined && status >= 400 && status < 500);
}
