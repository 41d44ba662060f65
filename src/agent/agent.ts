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
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EntryContent, exists, type ManifestEntry } from '../core/entry.ts';
import { type ChunkFrame, FrameError, openFrame } from '../core/frames.ts';
import { DEFAULT_IGNORE_OPTIONS, type IgnoreOptions, IgnoreRules } from '../core/ignore.ts';
import { checkRelativePath, pathDepth, TEMP_FILE_PREFIX } from '../core/paths.ts';
import type { LiveHeader, Problem, PushHeader } from '../core/protocol.ts';
import { reconcilePath } from '../core/reconcile.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { applyContent, type CheckedFolders } from './apply.ts';
import { ChunkCache } from './chunk-cache.ts';
import { HubClient } from './client.ts';
import { currentBranch, gitBusy, trackedPaths } from './git.ts';
import { Limiter } from './limiter.ts';
import { fileContent, LocalTree, type Observation } from './local-tree.ts';
import { needsPolling } from './mounts.ts';
import { AgentState } from './state.ts';
import { CircuitBreaker, fetchChunks, packFrames, uploadFrames } from './transfer.ts';

export interface AgentOptions {
  dir: string;
  server: string;
  workspace: string;
  token?: string;
  stateDir: string;
  ignore?: IgnoreOptions;
  allowGit?: boolean;
  /** Max file operations in flight (default 64). */
  concurrency?: number;
  /**
   * Quiet time before a burst of watcher events is handled (default 1 ms): long enough for a
   * save's truncate-and-write to finish, so the version read is whole and its delta small.
   */
  debounceMs?: number;
  /** Shortest interval between full rescans (default 5 s; longer for big trees). */
  rescanMinMs?: number;
  /** Use polling instead of the watcher (network mounts). */
  poll?: boolean;
  log?: (line: string) => void;
  /** Called for every remote version written to disk. */
  onApplied?: (event: AppliedEvent) => void;
  /** Prometheus metrics of this agent, when they are served. */
  metrics?: AgentMetrics;
  /** Called after every push with its results. */
  onPushed?: (event: { paths: string[]; bytes: number; conflicts: string[] }) => void;
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

const CACHE_BYTES = 64 * 1024 * 1024;
/** A checkout is settled once git's index lock has been gone and events quiet for this long. */
const CHECKOUT_SETTLE_MS = 60;

export class Agent {
  readonly state: AgentState;
  readonly tree: LocalTree;
  private readonly client: HubClient;
  private readonly limiter: Limiter;
  private readonly cache = new ChunkCache(CACHE_BYTES);
  private readonly breaker = new CircuitBreaker();
  /** Chunks the hub is known to hold: every chunk of every base, plus what was uploaded. */
  private readonly knownChunks = new Set<string>();
  /** Remote versions announced but not yet applied or superseded, by path. */
  private readonly pending = new Map<string, ManifestEntry>();
  /** Content the hub refused for a path (case collision...), not to be pushed again unchanged. */
  private readonly refused = new Map<string, { identity: string; problem: Problem }>();
  private readonly applyProblems = new Map<string, Problem>();
  private highestSeen: number;
  private queue: Promise<unknown> = Promise.resolve();
  private dirty = new Set<string>();
  private fullScanWanted = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private rescanTimer: ReturnType<typeof setTimeout> | undefined;
  private watcher: FSWatcher | undefined;
  private live: { send: (m: unknown) => void; close: () => void } | undefined;
  private stopped = false;
  private branch: string | undefined;
  private branchSwitching = false;
  private lastScanMs = 0;
  private reconnectDelayMs = 250;
  private lastProblemsSent = '';
  readonly bytes = { in: 0, out: 0 };

  constructor(private readonly options: AgentOptions) {
    this.state = new AgentState(options.stateDir);
    this.limiter = new Limiter(options.concurrency ?? 64);
    this.tree = new LocalTree(options.dir, this.limiter, {
      ignore: options.ignore ?? DEFAULT_IGNORE_OPTIONS,
      allowGit: options.allowGit ?? false,
      tracked: new Set(),
    });
    this.client = new HubClient({
      server: options.server,
      workspace: options.workspace,
      token: options.token,
      agentId: this.state.agentId,
      onBytes: (direction, n) => {
        this.bytes[direction] += n;
        options.metrics?.bytes.inc({ direction }, n);
      },
    });
    this.highestSeen = this.state.cursor;
    for (const base of this.state.bases.values()) this.rememberChunks(base.content);
  }

  get agentId(): string {
    return this.state.agentId;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Loads git's tracked paths (tracked files sync even when ignored). */
  async prepare(): Promise<void> {
    this.tree.setTracked(await trackedPaths(this.options.dir));
    this.branch = await currentBranch(this.options.dir);
  }

  /**
   * One complete reconcile both ways: catch up with the hub, push every local difference, apply
   * every remote one, repeated until a round changes nothing. Resolves true when DIR and the hub
   * agree (no pending remote versions and no unpushed local edits).
   */
  async syncOnce(maxRounds = 8): Promise<boolean> {
    await this.prepare();
    for (let round = 0; round < maxRounds; round++) {
      await this.catchUp();
      const summary = await this.enqueue(() => this.cycle('full'));
      if (summary.pushed === 0 && summary.applied === 0 && this.pending.size === 0) return true;
    }
    return this.pending.size === 0;
  }

  /** Runs until `stop()`: live connection, watcher, periodic rescans. */
  async start(): Promise<void> {
    await this.prepare();
    await this.waitForHub();
    this.connectLive();
    await this.catchUp();
    await this.enqueue(() => this.cycle('full', true));
    await this.startWatcher();
    this.scheduleRescan();
  }

  /**
   * Retries the first contact with the hub with backoff (up to 30 s apart) while it cannot be
   * reached: a container may start before its hub. A hub that answers and refuses (a bad token, a
   * bad workspace name) is final and thrown at once.
   */
  private async waitForHub(): Promise<void> {
    let delay = 500;
    for (;;) {
      try {
        await this.client.changes(this.state.cursor);
        return;
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (this.stopped || (status !== undefined && status >= 400 && status < 500)) throw error;
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
    this.watcher?.close();
    this.live?.close();
    await this.queue.catch(() => {});
    this.state.close();
  }

  /** Problems to report: local paths that cannot sync and remote versions that cannot apply. */
  problems(): Problem[] {
    return [
      ...this.tree.problems.values(),
      ...[...this.refused.values()].map((r) => r.problem),
      ...this.applyProblems.values(),
    ];
  }

  /** Number of remote versions known but not yet on disk. */
  pendingCount(): number {
    return this.pending.size;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  // ---- hub side -------------------------------------------------------------------------------

  private async catchUp(): Promise<void> {
    let since = Math.max(this.state.cursor, 0);
    for (;;) {
      const page = await this.client.changes(since);
      for (const entry of page.entries) this.noteRemote(entry);
      this.highestSeen = Math.max(this.highestSeen, page.head, ...page.entries.map((e) => e.seq));
      if (!page.more || page.entries.length === 0) break;
      since = page.entries[page.entries.length - 1]!.seq;
    }
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
    if (!known || known.seq < entry.seq) this.pending.set(entry.path, entry);
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
    if (header.type === 'hello') {
      if (header.head > this.state.cursor) {
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
      try {
        const bytes = new Uint8Array(await readFile(join(this.options.dir, path)));
        this.cache.addFile(base.content.chunks, bytes);
        if (this.cache.has(hash)) return;
      } catch {
        // The local copy is gone or changed; try another.
      }
    }
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
    if (this.options.poll) {
      this.log('watching by polling (no filesystem events requested)');
      return;
    }
    const mount = await needsPolling(this.options.dir);
    if (mount.poll) {
      this.options.poll = true;
      this.log(
        `${this.options.dir} is on ${mount.type}, which delivers no change events here; polling instead`,
      );
      return;
    }
    this.watchRecursively();
  }

  private watchRecursively(): void {
    if (this.stopped) return;
    try {
      this.watcher = watch(this.options.dir, { recursive: true }, (_event, filename) => {
        if (filename === null || filename === undefined) {
          this.fullScanWanted = true;
        } else {
          this.onWatchEvent(String(filename));
        }
        this.scheduleFlush();
      });
      this.watcher.on('error', (error) => {
        // Watch limits and vanished folders surface here; a rescan repairs anything missed.
        this.log(`watcher error (${(error as Error).message}); rescanning and restarting the watcher`);
        this.watcher?.close();
        this.fullScanWanted = true;
        this.scheduleFlush(100);
        setTimeout(() => this.watchRecursively(), 1000);
      });
    } catch (error) {
      this.log(`no filesystem events here (${(error as Error).message}); falling back to polling`);
      this.options.poll = true;
    }
  }

  private onWatchEvent(name: string): void {
    const path = name.split('\\').join('/');
    if (path === '.git/HEAD' || path === '.git/index.lock' || path === '.git/index') {
      this.branchSwitching = true;
      return;
    }
    if (path.startsWith('.git/') && !this.options.allowGit) return;
    const leaf = path.slice(path.lastIndexOf('/') + 1);
    if (leaf.startsWith(TEMP_FILE_PREFIX)) return;
    this.dirty.add(path);
  }

  private scheduleFlush(delayMs = this.options.debounceMs ?? 1): void {
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
    // Keep rescans under ~0.5% of a core: wait at least 200x as long as the last scan took.
    // Polling is the only detector where no events arrive, so it runs at least every second.
    const floor = this.options.poll
      ? Math.min(this.options.rescanMinMs ?? 1000, 1000)
      : (this.options.rescanMinMs ?? 5000);
    const interval = Math.max(floor, this.lastScanMs * 200);
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
    if (paths === 'full') {
      const started = performance.now();
      const scanned = await this.tree.scan((p) => this.state.base(p));
      this.lastScanMs = performance.now() - started;
      for (const [path, obs] of scanned) out.set(path, obs);
      for (const [path, base] of this.state.bases) {
        if (out.has(path) || !exists(base.content)) continue;
        if (this.tree.rules.isIgnored(path, base.content.kind === 'dir')) continue;
        out.set(path, { content: { kind: 'deleted' } });
      }
      for (const path of this.pending.keys()) {
        if (!out.has(path)) out.set(path, await this.tree.observe(path, this.state.base(path), false));
      }
      return out;
    }
    let rulesChanged = false;
    await Promise.all(
      [...paths].map(async (path) => {
        if (IgnoreRules.isIgnoreFile(path)) rulesChanged = true;
        const obs = await this.tree.observe(path, this.state.base(path), fromWatcher);
        out.set(path, obs);
        // A new folder's files may have been written before the watcher saw the folder.
        if (obs.content.kind === 'dir' && this.state.base(path)?.content.kind !== 'dir')
          this.fullScanWanted = true;
      }),
    );
    if (rulesChanged) this.fullScanWanted = true;
    for (const [path, obs] of out) {
      const isDir = obs.content.kind === 'dir' || this.state.base(path)?.content.kind === 'dir';
      if (this.tree.rules.isIgnored(path, isDir) && !this.pending.has(path)) out.delete(path);
    }
    return out;
  }

  private async cycle(
    paths: Set<string> | 'full',
    branchSwitch = false,
    remoteBatch = false,
    fromWatcher = false,
  ): Promise<SyncSummary> {
    if (paths !== 'full' && this.fullScanWanted) {
      this.fullScanWanted = false;
      paths = 'full';
    }
    if (branchSwitch) {
      // Git touched its index: a checkout if the branch moved, else a commit or a status refresh.
      const before = this.branch;
      this.branch = await currentBranch(this.options.dir);
      branchSwitch = before !== this.branch;
      if (branchSwitch) this.log(`branch switch ${before ?? '(none)'} -> ${this.branch ?? '(none)'}`);
    }
    const observed = await this.observeAll(paths, fromWatcher);
    const pushes: Array<{
      path: string;
      content: EntryContent;
      vector: Record<string, number>;
      obs: Observation;
    }> = [];
    const applies: Array<{ entry: ManifestEntry; obs: Observation }> = [];
    for (const [path, obs] of observed) {
      const base = this.state.base(path);
      const remote = this.pending.get(path);
      if (remote && this.tree.rules.isIgnored(path, remote.content.kind === 'dir')) {
        this.pending.delete(path);
        continue;
      }
      const decision = reconcilePath(this.agentId, base, obs.content, remote);
      switch (decision.type) {
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
          this.rememberChunks(obs.content);
          break;
        case 'push': {
          const refused = this.refused.get(path);
          if (refused && refused.identity === identity(decision.content)) break;
          pushes.push({ path, content: decision.content, vector: { ...decision.vector }, obs });
          break;
        }
        case 'apply':
          if (remote) applies.push({ entry: remote, obs });
          break;
      }
    }
    let pushed = 0;
    if (pushes.length > 0) pushed = await this.push(pushes, branchSwitch);
    const applied = applies.length > 0 ? await this.apply(applies, remoteBatch) : 0;
    this.advanceCursor();
    this.state.flush();
    this.reportProblems();
    return { pushed, applied, problems: this.problems() };
  }

  private advanceCursor(): void {
    let cursor = this.highestSeen;
    for (const entry of this.pending.values()) cursor = Math.min(cursor, entry.seq - 1);
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

  private knownFile(content: EntryContent): boolean {
    return content.kind === 'file' && content.chunks.every(([h]) => this.knownChunks.has(h));
  }

  /** Chunks the hub now holds: everything sent except what it reported damaged. */
  private rememberSent(frames: readonly ChunkFrame[], damaged: readonly string[]): void {
    const bad = new Set(damaged);
    for (const f of frames) if (!bad.has(f.hash)) this.knownChunks.add(f.hash);
  }

  private rememberChunks(content: EntryContent): void {
    if (content.kind === 'file') for (const [hash] of content.chunks) this.knownChunks.add(hash);
  }

  private async push(
    pushesIn: Array<{
      path: string;
      content: EntryContent;
      vector: Record<string, number>;
      obs: Observation;
    }>,
    branchSwitch: boolean,
  ): Promise<number> {
    let pushes = pushesIn;
    const started = performance.now();
    const frames: ChunkFrame[] = [];
    const sending = new Set<string>();
    let unknownChunks: string[] = [];
    for (const p of pushes) {
      if (p.content.kind !== 'file') continue;
      for (const [hash] of p.content.chunks)
        if (!this.knownChunks.has(hash) && !sending.has(hash)) unknownChunks.push(hash);
    }
    // Many unknown chunks (first sync, a second agent on an existing tree): ask which the hub lacks.
    if (unknownChunks.length > 16) {
      const missing = new Set(await this.client.missing(unknownChunks));
      for (const hash of unknownChunks) if (!missing.has(hash)) this.knownChunks.add(hash);
      unknownChunks = [];
    }
    for (const p of pushes) {
      if (p.content.kind !== 'file') continue;
      let bytes = p.obs.bytes;
      if (!bytes) {
        // Not read while observing: read now, and describe what was actually read.
        try {
          bytes = new Uint8Array(await readFile(join(this.options.dir, p.path)));
        } catch {
          // Gone or unreadable since it was observed: the next cycle sees what it became.
          this.dirty.add(p.path);
          continue;
        }
        p.content = fileContent(bytes, p.content.exec);
        p.obs = { ...p.obs, content: p.content, bytes };
      }
      if (p.content.kind !== 'file') continue;
      this.cache.addFile(p.content.chunks, bytes);
      const known = (hash: string) => this.knownChunks.has(hash) || sending.has(hash);
      for (const frame of uploadFrames(
        p.content.chunks,
        bytes,
        this.state.base(p.path)?.content,
        this.cache,
        known,
      )) {
        frames.push(frame);
        sending.add(frame.hash);
      }
    }
    const groups = packFrames(frames);
    const last = groups.pop() ?? [];
    // Chunk-only envelopes go ahead of the commit, a few at a time, so the hub verifies and stores
    // one while the next is being sent.
    const uploads = new Limiter(3);
    await uploads.map(groups, async (group) => {
      const reply = await this.client.push({ agent: this.agentId, batch: 'edits', changes: [] }, group);
      this.rememberSent(group, reply.missingChunks);
    });
    // Files that vanished before they could be read wait for the next cycle.
    pushes = pushes.filter(
      (p) => p.content.kind !== 'file' || p.obs.bytes !== undefined || this.knownFile(p.content),
    );
    if (pushes.length === 0) return 0;
    const header: PushHeader = {
      agent: this.agentId,
      branch: this.branch,
      batch: branchSwitch ? 'branch-switch' : 'edits',
      changes: pushes.map((p) => ({ path: p.path, content: p.content, vector: p.vector })),
    };
    let response = await this.client.push(header, last);
    this.rememberSent(last, response.missingChunks);
    for (let retry = 0; response.missingChunks.length > 0 && retry < 3; retry++) {
      // Damaged or missing chunks are re-sent on their own, raw.
      const again = pushes.filter((p) =>
        response.results.some(
          (r) => r.path === p.path && r.status === 'rejected' && r.code === 'missing-chunks',
        ),
      );
      const resend: ChunkFrame[] = [];
      for (const p of again) {
        if (p.content.kind !== 'file') continue;
        const bytes = p.obs.bytes ?? new Uint8Array(await readFile(join(this.options.dir, p.path)));
        resend.push(...uploadFrames(p.content.chunks, bytes, undefined, this.cache, () => false));
      }
      await new Promise((r) => setTimeout(r, 1000 * 2 ** retry));
      const retried = await this.client.push(
        { ...header, changes: header.changes.filter((c) => again.some((p) => p.path === c.path)) },
        resend,
      );
      response = {
        ...retried,
        results: [
          ...response.results.filter((r) => !again.some((p) => p.path === r.path)),
          ...retried.results,
        ],
      };
    }
    const byPath = new Map(pushes.map((p) => [p.path, p]));
    const conflicts: string[] = [];
    let accepted = 0;
    for (const result of response.results) {
      const p = byPath.get(result.path);
      if (!p) continue;
      if (result.status === 'rejected') {
        const problem = { path: p.path, code: result.code, message: result.message };
        this.refused.set(p.path, { identity: identity(p.content), problem });
        continue;
      }
      this.refused.delete(p.path);
      this.options.metrics?.pushed.inc({ result: result.status });
      const vector = result.status === 'accepted' ? result.vector : p.vector;
      this.state.setBase(p.path, { content: p.content, vector, stat: p.obs.stat, statAt: Date.now() });
      this.rememberChunks(p.content);
      if (result.status === 'conflict') conflicts.push(p.path);
      accepted++;
    }
    const bytes = frames.reduce((n, f) => n + f.payload.length, 0);
    this.options.metrics?.pushDuration.observe((performance.now() - started) / 1000);
    if (conflicts.length > 0) this.options.metrics?.conflicts.inc(conflicts.length);
    this.log(
      `pushed ${accepted} change(s), ${bytes} chunk bytes, in ${Math.round(performance.now() - started)} ms${conflicts.length ? `; conflicts: ${conflicts.join(', ')}` : ''}`,
    );
    this.options.onPushed?.({ paths: pushes.map((p) => p.path), bytes, conflicts });
    return accepted;
  }

  private async apply(
    applies: Array<{ entry: ManifestEntry; obs: Observation }>,
    remoteBatch: boolean,
  ): Promise<number> {
    const started = performance.now();
    // Folders before their contents, deletions deepest first and after the writes (a rename's
    // new name exists before its old one goes).
    const writes = applies
      .filter((a) => exists(a.entry.content))
      .sort((a, b) => pathDepth(a.entry.path) - pathDepth(b.entry.path));
    const deletes = applies
      .filter((a) => !exists(a.entry.content))
      .sort((a, b) => pathDepth(b.entry.path) - pathDepth(a.entry.path));
    const chunkBytes = await this.gatherChunks(writes.map((a) => a.entry));
    let applied = 0;
    let totalBytes = 0;
    const checked: CheckedFolders = new Set();
    const runOne = async ({ entry, obs }: { entry: ManifestEntry; obs: Observation }) => {
      const content = entry.content;
      let bytes: Uint8Array | undefined;
      if (content.kind === 'file') {
        bytes = assemble(content.chunks, chunkBytes);
        if (!bytes) return;
      }
      const expected = exists(obs.content) ? obs.stat : undefined;
      const outcome = await this.limiter.run(() =>
        applyContent(this.options.dir, entry.path, content, expected, bytes, checked),
      );
      if (!outcome.ok) {
        if (outcome.code === 'local-changed') {
          // An edit landed meanwhile: it is pushed by the next cycle (and may become a conflict).
          this.dirty.add(entry.path);
          this.scheduleFlush();
        } else if (outcome.code === 'folder-not-empty' && content.kind === 'deleted') {
          // Only ignored or freshly edited things remain inside; keep the folder, accept the version.
          this.pending.delete(entry.path);
          this.state.setBase(entry.path, { content: { kind: 'dir' }, vector: entry.vector });
        } else if (!outcome.retry) {
          this.pending.delete(entry.path);
          this.applyProblems.set(entry.path, {
            path: entry.path,
            code: outcome.code,
            message: outcome.message,
          });
        } else {
          this.log(`could not apply ${entry.path}: ${outcome.message}; will retry`);
        }
        return;
      }
      this.applyProblems.delete(entry.path);
      this.pending.delete(entry.path);
      this.state.setBase(entry.path, {
        content,
        vector: entry.vector,
        stat: outcome.stat,
        statAt: Date.now(),
        ownWrite: true,
      });
      this.rememberChunks(content);
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
    // Writes in parallel by depth level (parents exist before children), deletes one level at a time.
    for (const level of groupByDepth(writes)) await Promise.all(level.map(runOne));
    for (const level of groupByDepth(deletes)) await Promise.all(level.map(runOne));
    this.options.metrics?.applyDuration.observe((performance.now() - started) / 1000);
    if (applied > 0) {
      this.log(
        `applied ${applied} change(s)${remoteBatch ? ' of a branch switch' : ''}, ${totalBytes} bytes, in ${Math.round(performance.now() - started)} ms`,
      );
    }
    return applied;
  }

  /** Bytes for every chunk of the files to write: from memory, local copies, then the hub. */
  private async gatherChunks(entries: ManifestEntry[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    /** Chunks of local copies read for this batch (large files), usable as delta bases too. */
    const local = new Map<string, Uint8Array>();
    const wanted = new Map<string, string | undefined>();
    for (const entry of entries) {
      if (entry.content.kind !== 'file') continue;
      const base = this.state.base(entry.path)?.content;
      const baseChunks = base?.kind === 'file' ? base.chunks : [];
      const needed = entry.content.chunks.filter(([h]) => !out.has(h) && !this.cache.has(h));
      if (needed.length > 0 && baseChunks.length > 0 && entry.content.size > 1024 * 1024) {
        // A large file: most chunks are usually in the local copy of the previous version.
        await this.readLocalChunks(entry.path, baseChunks, local);
      }
      for (const [index, [hash]] of entry.content.chunks.entries()) {
        const found = this.cache.get(hash) ?? local.get(hash);
        if (found) out.set(hash, found);
        else if (!out.has(hash)) wanted.set(hash, baseChunks[index]?.[0]);
      }
    }
    if (wanted.size > 0) {
      const fetched = await fetchChunks(
        this.client,
        wanted,
        (h) => this.cache.get(h) ?? local.get(h),
        this.breaker,
      );
      for (const [hash, bytes] of fetched) out.set(hash, bytes);
    }
    return out;
  }

  /** Reads the local copy of a path once and files its chunks (by the base's chunk list) into `into`. */
  private async readLocalChunks(
    path: string,
    chunks: ReadonlyArray<readonly [string, number]>,
    into: Map<string, Uint8Array>,
  ): Promise<void> {
    try {
      const bytes = new Uint8Array(await readFile(join(this.options.dir, path)));
      let offset = 0;
      for (const [hash, size] of chunks) {
        into.set(hash, bytes.subarray(offset, offset + size));
        offset += size;
      }
    } catch {
      // Nothing local to reuse; the chunks are fetched (and verified) from the hub.
    }
  }
}

function assemble(
  chunks: ReadonlyArray<readonly [string, number]>,
  bytes: ReadonlyMap<string, Uint8Array>,
): Uint8Array | undefined {
  if (chunks.length === 1) return bytes.get(chunks[0]![0]);
  let size = 0;
  for (const [, n] of chunks) size += n;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const [hash] of chunks) {
    const part = bytes.get(hash);
    if (!part) return undefined;
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function groupByDepth<T extends { entry: ManifestEntry }>(items: T[]): T[][] {
  const levels = new Map<number, T[]>();
  for (const item of items) {
    const depth = pathDepth(item.entry.path);
    const level = levels.get(depth) ?? [];
    level.push(item);
    levels.set(depth, level);
  }
  return [...levels.values()];
}

function identity(content: EntryContent): string {
  return JSON.stringify(content);
}
