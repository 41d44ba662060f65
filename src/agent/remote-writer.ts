/**
 * Writing a cycle's remote versions and recording each outcome as the agent's new state: the
 * written version becomes the base, a failed one is observed again, deferred with backoff, or
 * reported (see core/apply-outcome.ts for which). The writes themselves are applier.ts's.
 *
 * Invariant: a remote version leaves `pending` only when it is on disk, kept as a folder, given
 * up and reported, or deferred (kept in the state); none is dropped silently.
 */
import { afterApplyFailure, deferralDelayMs } from '../core/apply-outcome.ts';
import { exists, type ManifestEntry } from '../core/entry.ts';
import { type Problem, WANTED_HASHES_MAX } from '../core/protocol.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { type SpanHandle, type Traces, withSpan } from '../traces/traces.ts';
import type { AppliedEvent } from './agent-options.ts';
import { type ApplierDeps, type ApplyItem, applyBatch, type ItemOutcome } from './applier.ts';
import type { ChunkCache } from './chunk-cache.ts';
import type { HubClient } from './client.ts';
import type { Durability } from './durability.ts';
import type { Limiter } from './limiter.ts';
import type { LocalTree, Observation } from './local-tree.ts';
import type { Pusher } from './pusher.ts';
import type { AgentState } from './state.ts';
import type { MergedWrite } from './text-merger.ts';
import { CircuitBreaker } from './transfer.ts';

export interface RemoteWriterDeps {
  dir: string;
  /** The tree whose `folding` (probed at start) the writes respect. */
  tree: LocalTree;
  limiter: Limiter;
  durability: Durability;
  streamFrom?: number;
  state: AgentState;
  cache: ChunkCache;
  client: HubClient;
  pusher: Pusher;
  /** Remote versions waiting, by path (the remote feed's). */
  pending: Map<string, ManifestEntry>;
  /** An edit was found in the way of a write: the path is to be observed again soon. */
  observeAgain: (path: string) => void;
  /** Asks the workspace's other agents to upload these chunks again. */
  want: (hashes: string[]) => void;
  log: (line: string) => void;
  metrics?: AgentMetrics;
  onApplied?: (event: AppliedEvent) => void;
  /** Called for every version written, with its bytes (progress of a large batch). */
  onWritten?: (bytes: number) => void;
  /** An `apply` span per batch; its chunk fetches carry it as their traceparent. */
  traces?: Traces;
}

/** Applies remote versions and keeps what could not be written (see the file's comment). */
export class RemoteWriter {
  /** Remote versions that cannot be written here as the tree is, by path. */
  readonly problems = new Map<string, Problem>();
  private readonly breaker = new CircuitBreaker();

  constructor(private readonly deps: RemoteWriterDeps) {}

  /** Keeps a remote version that cannot be written now, to try again with backoff. */
  defer(entry: ManifestEntry, problem: string, now = Date.now()): void {
    const previous = this.deps.state.deferred.get(entry.path);
    const attempts = previous && previous.entry.seq === entry.seq ? previous.attempts + 1 : 1;
    this.deps.state.setDeferred(entry.path, {
      entry,
      attempts,
      problem,
      retryAt: now + deferralDelayMs(attempts),
    });
  }

  /** Remote versions waiting to be tried again (a missing chunk, an unreadable local path...). */
  deferredProblems(): Problem[] {
    return [...this.deps.state.deferred.entries()].map(([path, d]) => ({
      path,
      code: 'deferred',
      message: `not applied yet (${d.problem}); try ${d.attempts + 1} soon`,
    }));
  }

  /**
   * Writes `items` and records every outcome; resolves to how many were written. `trace` is the
   * hub's fan-out span that announced them, which the apply span is a child of.
   */
  async apply(items: ApplyItem[], remoteBatch: boolean, trace?: string): Promise<number> {
    return withSpan(this.deps.traces, 'apply', { root: true, parent: trace }, (span) =>
      this.applyItems(items, remoteBatch, span),
    );
  }

  private async applyItems(items: ApplyItem[], remoteBatch: boolean, span?: SpanHandle): Promise<number> {
    const { deps } = this;
    const started = performance.now();
    const tally = { applied: 0, bytes: 0 };
    const missingChunks = new Set<string>();
    // Durable before the first rename: a kill before the writes are recorded as bases leaves
    // them for the next start to recognise on disk (see core/intent.ts).
    deps.state.recordIntents(
      items.map(
        ({ entry }) => [entry.path, { op: 'apply', content: entry.content, vector: entry.vector }] as const,
      ),
    );
    await applyBatch(this.applierDeps(), items, ({ entry }, outcome) =>
      outcome.ok ? this.written(entry, outcome, tally) : this.failed(entry, outcome, missingChunks),
    );
    if (missingChunks.size > 0) {
      // Ask the workspace's other agents to upload them again (the hub lost or dropped them).
      deps.want([...missingChunks].slice(0, WANTED_HASHES_MAX));
      deps.log(`${missingChunks.size} chunk(s) could not be had from the hub; their files wait`);
    }
    deps.metrics?.applyDuration.observe((performance.now() - started) / 1000);
    span?.set({
      'warmsync.items': items.length,
      'warmsync.paths': items.slice(0, 10).map((i) => i.entry.path),
      'warmsync.applied': tally.applied,
      'warmsync.bytes': tally.bytes,
      'warmsync.missing_chunks': missingChunks.size,
    });
    if (tally.applied > 0) {
      deps.log(
        `applied ${tally.applied} change(s)${remoteBatch ? ' of a branch switch' : ''}, ${tally.bytes} bytes, in ${Math.round(performance.now() - started)} ms`,
      );
    }
    return tally.applied;
  }

  /**
   * Writes three-way merges (text-merger.ts) over the local edits they were made from. Each is
   * recorded as if its remote version had been applied and then edited into the merge: the base
   * becomes the remote version, with no stat, so the next cycle reads the merge and pushes it with
   * a vector that dominates both sides. The intent names the remote content, which the disk never
   * holds, so after a kill mid-write nothing is taken as settled and the merge is made again.
   * Resolves to the paths written.
   */
  async writeMerged(merges: readonly MergedWrite[], obsOf: (path: string) => Observation): Promise<string[]> {
    const { deps } = this;
    if (merges.length === 0) return [];
    deps.state.recordIntents(
      merges.map(
        ({ remote }) =>
          [remote.path, { op: 'apply', content: remote.content, vector: remote.vector }] as const,
      ),
    );
    const byPath = new Map(merges.map((m) => [m.entry.path, m]));
    for (const m of merges)
      if (m.entry.content.kind === 'file') deps.cache.addFile(m.entry.content.chunks, m.bytes);
    const written: string[] = [];
    await applyBatch(
      this.applierDeps(),
      merges.map((m) => ({ entry: m.entry, obs: obsOf(m.entry.path) })),
      ({ entry }, outcome) => {
        const { remote } = byPath.get(entry.path)!;
        if (!outcome.ok) {
          // Not written (an edit landed meanwhile): the path is looked at again, and merged again.
          deps.state.dropIntent(entry.path);
          deps.observeAgain(entry.path);
          return;
        }
        deps.pending.delete(entry.path);
        deps.state.setDeferred(entry.path, undefined);
        deps.state.setBase(entry.path, { content: remote.content, vector: remote.vector });
        deps.metrics?.applied.inc({ kind: 'file' });
        written.push(entry.path);
        deps.observeAgain(entry.path);
      },
    );
    if (written.length > 0)
      deps.log(`merged ${written.length} concurrent edit(s): ${written.slice(0, 5).join(', ')}`);
    return written;
  }

  /** What the applier writes with (the folding probed at start is read at each batch). */
  private applierDeps(): ApplierDeps {
    const { deps } = this;
    return {
      dir: deps.dir,
      folding: deps.tree.folding,
      limiter: deps.limiter,
      durability: deps.durability,
      streamFrom: deps.streamFrom,
      gather: {
        dir: deps.dir,
        baseOf: (p: string) => deps.state.base(p),
        cache: deps.cache,
        client: deps.client,
        breaker: this.breaker,
      },
    };
  }

  private written(
    entry: ManifestEntry,
    outcome: Extract<ItemOutcome, { ok: true }>,
    tally: { applied: number; bytes: number },
  ): void {
    const { deps } = this;
    const { content } = entry;
    const bytes = outcome.bytes;
    this.problems.delete(entry.path);
    deps.pending.delete(entry.path);
    deps.state.setDeferred(entry.path, undefined);
    deps.state.setBase(entry.path, {
      content,
      vector: entry.vector,
      stat: outcome.stat,
      statAt: Date.now(),
      ownWrite: true,
      statProves: outcome.statProves,
    });
    deps.pusher.remember(content);
    if (bytes && content.kind === 'file') deps.cache.addFile(content.chunks, bytes);
    tally.applied++;
    tally.bytes += bytes?.length ?? 0;
    deps.onWritten?.(content.kind === 'file' ? content.size : 0);
    deps.metrics?.applied.inc({ kind: content.kind });
    deps.onApplied?.({
      path: entry.path,
      kind: content.kind,
      bytes: bytes?.length ?? 0,
      seq: entry.seq,
      origin: entry.agent,
    });
  }

  private failed(
    entry: ManifestEntry,
    outcome: Extract<ItemOutcome, { ok: false }>,
    missingChunks: Set<string>,
  ): void {
    const { deps } = this;
    const { content } = entry;
    // Not written: nothing on disk to recognise later ('keep-folder' records its base below).
    deps.state.dropIntent(entry.path);
    const next = afterApplyFailure({ ...outcome, deletion: !exists(content) });
    switch (next.type) {
      case 'observe-again':
        // An edit landed meanwhile: it is pushed by the next cycle (and may become a conflict).
        deps.observeAgain(entry.path);
        break;
      case 'keep-folder':
        // Only ignored or freshly edited things remain inside; keep the folder, accept the version.
        deps.pending.delete(entry.path);
        deps.state.setDeferred(entry.path, undefined);
        deps.state.setBase(entry.path, { content: { kind: 'dir' }, vector: entry.vector });
        break;
      case 'defer':
        this.defer(entry, next.problem);
        if (outcome.code === 'missing-chunks' && content.kind === 'file')
          for (const [hash] of content.chunks) if (!deps.cache.has(hash)) missingChunks.add(hash);
        break;
      case 'give-up':
        deps.pending.delete(entry.path);
        deps.state.setDeferred(entry.path, undefined);
        this.problems.set(entry.path, { path: entry.path, code: outcome.code, message: next.problem });
        break;
    }
  }
}
