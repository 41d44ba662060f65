/**
 * One push: verify the chunks that came with it, check each change, commit them in one
 * transaction, and tell the workspace's peers.
 */
import {
  compactWithin,
  expandContent,
  expansionOf,
  listsOf,
  MAX_EXPANDED_CHUNKS,
  STALE_CHUNK_BASE,
} from '../core/chunk-edit.ts';
import { exists, type ManifestEntry } from '../core/entry.ts';
import {
  type ChunkFrame,
  encodeEnvelope,
  FrameError,
  MAX_CHUNK_BYTES,
  makeFrame,
  openFrame,
} from '../core/frames.ts';
import { fileHashFromChunks } from '../core/hash.ts';
import { formatBytes } from '../core/limits.ts';
import { checkRelativePath } from '../core/paths.ts';
import type {
  ChangeResult,
  LiveHeader,
  PushHeader,
  PushResponse,
  WireLiveHeader,
  WirePushHeader,
} from '../core/protocol.ts';
import { counterPastBound, MAX_PUSHED_COUNTER } from '../core/vector.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import { countByStatus, type SpanHandle, type Traces, withSpan } from '../traces/traces.ts';
import { type JournalMover, journalOf } from './chunk-journal.ts';
import type { FrameCache } from './frame-cache.ts';
import type { Hub } from './hub.ts';
import { capConflictCopies, type SettleDeps } from './settle.ts';
import { ChunkUnreadableError } from './store/chunk-file.ts';
import type { ChunkStore } from './store/chunks-fs.ts';
import type { CommitOutcome, CommitRequest, Store } from './store/store.ts';

export interface PushDeps {
  store: Store;
  chunks: ChunkStore;
  hub: Hub;
  metrics: ServerMetrics;
  allowGit: boolean;
  /** Bytes all frames of one push may inflate to, together (HubLimits.pushInflatedBytes). */
  inflatedBytes: number;
  /** Records that the push's workspace may read the chunks it uploaded. */
  recordUploads?: (hashes: readonly string[]) => Promise<void>;
  /** Hub-side changes (the cap on conflict copies); without it copies are not capped. */
  settle?: SettleDeps;
  /** Spans of the commit and the fan-out, inside the request's span (see traces/hono.ts). */
  traces?: Traces;
  /** Takes the chunks of commits that carried them into the folder (see chunk-journal.ts). */
  journalMover?: JournalMover;
  /** Keeps the push's verified compressed frames for the fetches that follow (frame-cache.ts). */
  frameCache?: FrameCache;
}

/** A push over one of the hub's bounds: answered 413 with this message, and nothing committed. */
export class PushLimitError extends Error {
  readonly code = 'too-large';
  constructor(message: string) {
    super(message);
    this.name = 'PushLimitError';
  }
}

/** Files up to this size travel inside the live notification, so peers need no second round trip. */
const INLINE_FILE_BYTES = 256 * 1024;
/** Pushes with more changes than this are bulk work (initial sync, checkout): peers fetch instead. */
const INLINE_MAX_CHANGES = 64;
/** Received chunk bytes kept in memory for the notification: what 64 inline files can use. */
const KEEP_RECEIVED_BYTES = INLINE_MAX_CHANGES * INLINE_FILE_BYTES;

export async function handlePush(
  deps: PushDeps,
  workspace: string,
  wire: WirePushHeader,
  frames: readonly ChunkFrame[],
  receivedAt: number,
): Promise<PushResponse> {
  const started = performance.now();
  // Counted from the header alone, before any frame is opened or any list built.
  if (expansionOf(wire.changes.map((c) => c.content)) > MAX_EXPANDED_CHUNKS)
    throw new PushLimitError(
      `the push's chunk-list edits expand to more than ${MAX_EXPANDED_CHUNKS} chunks (the limit per push); send them in smaller pushes`,
    );
  const received = await storeFrames(deps.chunks, frames, deps.inflatedBytes, deps.frameCache);
  const uploaded = [...received.sizes.keys()];
  const { header, results } = await expandEdits(deps.store, workspace, wire);
  const accepted: PushHeader['changes'] = [];
  const missing = new Set<string>(received.bad);
  const sizeOf = async (hash: string) => received.sizes.get(hash) ?? (await deps.chunks.size(hash));
  for (const change of header.changes) {
    const problem = await checkChange(deps, change, sizeOf);
    if (problem === 'missing-chunks') {
      for (const [hash] of change.content.kind === 'file' ? change.content.chunks : []) {
        if ((await sizeOf(hash)) === undefined) missing.add(hash);
      }
      results.push({
        status: 'rejected',
        path: change.path,
        code: 'missing-chunks',
        message: 'chunks must be sent first',
      });
    } else if (problem) {
      results.push({ status: 'rejected', path: change.path, code: problem.code, message: problem.message });
    } else accepted.push(change);
  }
  // Durable before anything names them: the commit below, and this push's answer, after which
  // the agent takes them as stored and names them in its next pushes without sending them again.
  // A small push's chunks are made durable by its commit itself; the others by the folder's flush.
  const journal =
    accepted.length > 0 && deps.journalMover ? journalOf(deps.store.chunkJournal, received) : undefined;
  if (!journal) await deps.chunks.flush();
  // A push with an id commits even with nothing left to commit: under the commit's lock it is
  // answered from the record of a first copy (its answer lost; the path changed since, so its
  // edit's base is gone), or records its refusals, so that a first copy still waiting for the lock
  // is answered with them rather than committed after its agent was told otherwise.
  const commits = accepted.length > 0 || (wire.pushId !== undefined && wire.changes.length > 0);
  // The uploads are recorded in the commit's transaction when there is a commit, else on their own.
  if (!commits) await deps.recordUploads?.(uploaded);
  const previous =
    accepted.length <= INLINE_MAX_CHANGES
      ? await previousVersions(deps.store, workspace, accepted)
      : undefined;
  const traced = { 'warmsync.workspace': workspace, 'warmsync.agent': header.agent };
  deps.traces
    ?.active()
    ?.set({ ...traced, 'warmsync.changes': header.changes.length, 'warmsync.frames': frames.length });
  const outcome: CommitOutcome = commits
    ? await withSpan(deps.traces, 'commit', { attributes: traced, describe: describeCommit }, () =>
        commitCarrying(deps, {
          workspace,
          agent: header.agent,
          branch: header.branch,
          changes: accepted,
          pushId: header.pushId,
          rejected: results,
          uploads: deps.recordUploads ? uploaded : undefined,
          journal,
        }),
      )
    : {
        head: (await deps.store.changesSince(workspace, Number.MAX_SAFE_INTEGER, 1)).head,
        results: [],
        entries: [],
        conflicts: 0,
        conflictCopies: [],
      };
  if (journal) deps.journalMover?.committed(journal);
  if (outcome.replayed) {
    // Sent again after its answer was lost: the first copy was committed, counted and broadcast.
    deps.metrics.pushReplays.inc();
    return { head: outcome.head, results: outcome.results, missingChunks: [...missing] };
  }
  results.push(...outcome.results);
  for (const r of results) {
    deps.metrics.syncOperations.inc({ workspace, result: r.status });
    // Both are steps of the protocol, answered by the agent at once, not problems.
    if (r.status === 'rejected' && r.code !== 'missing-chunks' && r.code !== STALE_CHUNK_BASE)
      deps.metrics.problems.inc({ code: r.code });
  }
  if (outcome.conflicts > 0) deps.metrics.conflicts.inc({ workspace }, outcome.conflicts);
  const mergedPaths = new Set(header.changes.filter((c) => c.merged).map((c) => c.path));
  const merges = results.filter((r) => r.status === 'accepted' && mergedPaths.has(r.path)).length;
  if (merges > 0) deps.metrics.merges.inc({ workspace }, merges);
  if (outcome.entries.length > 0) {
    const first = outcome.entries[0]!.seq;
    const inline = previous
      ? await inlineFrames(deps.chunks, outcome.entries, received, frames, previous)
      : [];
    const fanOut = (span?: SpanHandle) => {
      const live: LiveHeader = {
        type: 'entries',
        from: first,
        to: outcome.head,
        origin: header.agent,
        batch: header.batch,
        entries: outcome.entries,
        // Peers' apply spans are children of this one (only when tracing).
        ...(span ? { trace: span.traceparent() } : {}),
      };
      const message = encodeEnvelope(compactLive(live, previous), inline);
      const [originLive, originFrames] = forOrigin(live, inline, outcome.results);
      deps.hub.broadcast(
        workspace,
        message,
        { from: first, to: outcome.head, origin: header.agent, receivedAt },
        encodeEnvelope(compactLive(originLive, previous), originFrames),
      );
      span?.set({
        'warmsync.entries': live.entries.length,
        'warmsync.frames': inline.length,
        'warmsync.bytes': message.length,
        'warmsync.peers': deps.hub.connected().filter((a) => a.workspace === workspace).length,
      });
    };
    // Untraced, the broadcast follows the commit with no extra turn of the event loop.
    if (deps.traces) await deps.traces.span('fan-out', { attributes: traced }, fanOut);
    else fanOut();
  }
  if (deps.settle && outcome.conflictCopies.length > 0)
    await capConflictCopies(deps.settle, workspace, new Set(outcome.conflictCopies.map((c) => c.path)));
  const durationMs = performance.now() - started;
  const sizeByPath = new Map(
    header.changes.map((c) => [c.path, c.content.kind === 'file' ? c.content.size : 0]),
  );
  await deps.store.audit(
    results
      .filter((r) => r.status !== 'unchanged')
      .map((r) => ({
        workspace,
        agent: header.agent,
        op:
          r.status === 'accepted'
            ? mergedPaths.has(r.path)
              ? 'merge'
              : 'push'
            : r.status === 'conflict'
              ? 'conflict'
              : 'reject',
        path: r.path,
        bytes: sizeByPath.get(r.path) ?? 0,
        durationMs,
        detail:
          r.status === 'conflict'
            ? `${r.reason}${r.copyPath ? ` copy=${r.copyPath}` : ''}`
            : r.status === 'rejected'
              ? r.code
              : '',
      })),
  );
  deps.traces?.active()?.set(countByStatus(results));
  return { head: outcome.head, results, missingChunks: [...missing] };
}

/**
 * Commits; when a commit that was to carry the push's chunks fails, they are flushed in the folder
 * instead. Staged and neither journaled nor flushed, a chunk could be answered "present" to an
 * agent, named by its next push without its bytes, and lost in a power loss.
 */
async function commitCarrying(deps: PushDeps, request: CommitRequest): Promise<CommitOutcome> {
  try {
    return await deps.store.commit(request);
  } catch (error) {
    if (request.journal) await deps.chunks.flush().catch(() => {});
    throw error;
  }
}

function describeCommit(outcome: CommitOutcome) {
  return {
    'warmsync.entries': outcome.entries.length,
    'warmsync.conflicts': outcome.conflicts,
    'warmsync.head': outcome.head,
  };
}

/**
 * Opens, verifies and stores each frame. All frames together may inflate to `budget` bytes; each
 * frame is opened with what is left of it as its own limit, so a push of many tiny frames that
 * would inflate far past it stops at the frame that crosses it (PushLimitError), having inflated
 * no more than the budget. Chunks verified before that stay stored (they are content-addressed
 * and valid); nothing of the push is committed.
 */
async function storeFrames(
  chunks: ChunkStore,
  frames: readonly ChunkFrame[],
  budget: number,
  cache: FrameCache | undefined,
) {
  const bytes = new Map<string, Uint8Array>();
  const sizes = new Map<string, number>();
  const bad: string[] = [];
  let inflated = 0;
  let kept = 0;
  for (const frame of frames) {
    const left = budget - inflated;
    try {
      const base = frame.base ? await chunks.get(frame.base) : undefined;
      const data = openFrame(frame, () => base, left);
      inflated += data.length;
      // A zstd frame opened without a base is the chunk on its own: the store may keep it as is.
      await chunks.put(frame.hash, data, frame.encoding === 'zstd' ? frame.payload : undefined);
      cache?.remember(frame);
      sizes.set(frame.hash, data.length);
      if (kept + data.length <= KEEP_RECEIVED_BYTES) {
        bytes.set(frame.hash, data);
        kept += data.length;
      }
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      inflated += error.inflated;
      if (error.code === 'too-large' && left < MAX_CHUNK_BYTES)
        throw new PushLimitError(
          `the push's chunks inflate to more than ${formatBytes(budget)} (the limit per push); send them in smaller pushes`,
        );
      // A damaged chunk is reported on its own; the agent re-sends just that chunk.
      bad.push(frame.hash);
    }
  }
  return { bytes, sizes, bad };
}

/**
 * Checks one change before it may be committed. A file's entry is what every peer will rebuild
 * the file from, so it must describe exactly the chunks the hub holds: its chunk list hashes to
 * its file hash, its declared chunk sizes add up to its size, and each chunk stored is as long as
 * declared (a peer writes chunks at the offsets those sizes give).
 */
async function checkChange(
  deps: PushDeps,
  change: PushHeader['changes'][number],
  sizeOf: (hash: string) => Promise<number | undefined>,
): Promise<{ code: string; message: string } | 'missing-chunks' | undefined> {
  const path = checkRelativePath(change.path, { allowGit: deps.allowGit });
  if (!path.ok) return { code: `invalid-path:${path.code}`, message: path.reason };
  const counter = counterPastBound(change.vector);
  if (counter !== undefined)
    return {
      code: 'counter-limit',
      message: `the version counter of ${counter} is over ${MAX_PUSHED_COUNTER}: past it, the counts the hub adds would no longer be exact`,
    };
  const content = change.content;
  if (content.kind !== 'file') return undefined;
  const total = content.chunks.reduce((sum, [, size]) => sum + size, 0);
  if (total !== content.size)
    return {
      code: 'chunk-size-mismatch',
      message: `chunk sizes add up to ${total} bytes, not the file's ${content.size}`,
    };
  if (fileHashFromChunks(content.chunks.map(([h]) => h)) !== content.hash) {
    return { code: 'bad-content', message: 'file hash does not match its chunk list' };
  }
  let absent = false;
  for (const [index, [hash, declared]] of content.chunks.entries()) {
    const stored = await sizeOf(hash);
    if (stored === undefined) absent = true;
    else if (stored !== declared)
      return {
        code: 'chunk-size-mismatch',
        message: `chunk ${index} (${hash.slice(0, 12)}) is ${stored} bytes, not the declared ${declared}`,
      };
  }
  return absent ? 'missing-chunks' : undefined;
}

/**
 * The push with each chunk-list edit expanded against the hub's version of its path. An edit of
 * another version (the path changed on the hub since the agent last saw it) is refused on its own
 * as `stale-chunk-base`, and the agent sends that change again with its whole list.
 */
async function expandEdits(
  store: Store,
  workspace: string,
  wire: WirePushHeader,
): Promise<{ header: PushHeader; results: ChangeResult[] }> {
  const changes: PushHeader['changes'] = [];
  const results: ChangeResult[] = [];
  for (const change of wire.changes) {
    const held =
      change.content.kind === 'file' && change.content.edit
        ? await store.entry(workspace, change.path)
        : undefined;
    // A push sent again after its answer was lost finds its own version there already.
    const own =
      held?.content.kind === 'file' &&
      change.content.kind === 'file' &&
      held.content.hash === change.content.hash
        ? { ...change.content, edit: undefined, chunks: held.content.chunks }
        : undefined;
    const content =
      expandContent(change.content, listsOf(held?.content)) ?? (own && expandContent(own, listsOf()));
    if (content) changes.push({ ...change, content });
    else
      results.push({
        status: 'rejected',
        path: change.path,
        code: STALE_CHUNK_BASE,
        message: 'the chunk list is an edit of a version the hub does not hold; send it whole',
      });
  }
  return { header: { ...wire, changes }, results };
}

async function previousVersions(store: Store, workspace: string, changes: PushHeader['changes']) {
  const out = new Map<string, ManifestEntry>();
  for (const change of changes) {
    const entry = await store.entry(workspace, change.path);
    if (entry) out.set(change.path, entry);
  }
  return out;
}

/**
 * Frames for small files of the new entries, each a delta against the chunk at the same position
 * of the path's previous version (which an up-to-date peer holds on disk) when that is smaller.
 * A frame the push brought that a peer can open the same way (compressed whole, or a delta
 * against that very chunk) is passed on as it came, verified already: the common case of an
 * edit, whose agent made its delta against the version the hub holds.
 */
async function inlineFrames(
  chunks: ChunkStore,
  entries: readonly ManifestEntry[],
  received: { bytes: ReadonlyMap<string, Uint8Array>; sizes: ReadonlyMap<string, number> },
  pushed: readonly ChunkFrame[],
  previous: ReadonlyMap<string, ManifestEntry>,
): Promise<ChunkFrame[]> {
  const frames: ChunkFrame[] = [];
  const seen = new Set<string>();
  // Only frames that were opened and verified (a damaged one has no size recorded).
  const verified = new Map(pushed.filter((f) => received.sizes.has(f.hash)).map((f) => [f.hash, f]));
  for (const entry of entries) {
    if (entry.content.kind !== 'file' || entry.content.size > INLINE_FILE_BYTES) continue;
    const before = previous.get(entry.path)?.content;
    const beforeChunks = before && exists(before) && before.kind === 'file' ? before.chunks : [];
    for (const [index, [hash]] of entry.content.chunks.entries()) {
      if (seen.has(hash)) continue;
      seen.add(hash);
      const baseHash = beforeChunks[index]?.[0];
      const sent = verified.get(hash);
      // A raw frame is made again: the uploader may have had no compressor (the Action on Node).
      if (sent && (sent.encoding === 'zstd' || (sent.encoding === 'delta' && sent.base === baseHash))) {
        frames.push(sent);
        continue;
      }
      const bytes = received.bytes.get(hash) ?? (await inlineRead(chunks, hash));
      if (!bytes) continue;
      const baseBytes = baseHash ? await inlineRead(chunks, baseHash) : undefined;
      frames.push(
        makeFrame(hash, bytes, baseHash && baseBytes ? { hash: baseHash, bytes: baseBytes } : undefined),
      );
    }
  }
  return frames;
}

/**
 * A chunk to send inline, or undefined when it cannot be read now: the push has committed, and a
 * peer fetches what the notification does not carry.
 */
async function inlineRead(chunks: ChunkStore, hash: string): Promise<Uint8Array | undefined> {
  try {
    return await chunks.get(hash);
  } catch (error) {
    if (error instanceof ChunkUnreadableError) return undefined;
    throw error;
  }
}

/**
 * The notification with large files' chunk lists as edits of the path's previous version, which
 * an up-to-date peer holds; a peer that holds another expands nothing and reads the catch-up.
 */
function compactLive(
  live: LiveHeader,
  previous: ReadonlyMap<string, ManifestEntry> | undefined,
): WireLiveHeader {
  if (live.type !== 'entries' || !previous) return live;
  return { ...live, entries: compactWithin(live.entries, (e) => previous.get(e.path)?.content) };
}

/**
 * The notification as the pushing agent gets it: versions it pushed and the hub accepted as they
 * were are left out (the push's answer already told it), and so are their bytes, which it has.
 * What it did not make (a conflict's winner and copy, others' changes in the range) stays.
 */
function forOrigin(
  live: LiveHeader,
  frames: readonly ChunkFrame[],
  results: readonly ChangeResult[],
): [LiveHeader, ChunkFrame[]] {
  if (live.type !== 'entries') return [live, [...frames]];
  const taken = new Set(results.filter((r) => r.status === 'accepted').map((r) => r.path));
  const entries = live.entries.filter((e) => !(taken.has(e.path) && e.agent === live.origin));
  const needed = new Set(
    entries.flatMap((e) => (e.content.kind === 'file' ? e.content.chunks.map(([h]) => h) : [])),
  );
  return [{ ...live, entries }, frames.filter((f) => needed.has(f.hash))];
}
