/**
 * Sending local changes to the hub: which chunks it lacks, framing them (as deltas against the
 * previous version where the agent still has it), retrying damaged ones on their own, and turning
 * the hub's answers into new bases. Also remembers what the hub refused, so unchanged refused
 * content is not pushed again and again.
 */
import { compactInGroups, STALE_CHUNK_BASE } from '../core/chunk-edit.ts';
import { ChunkSet } from '../core/chunk-set.ts';
import type { EntryContent } from '../core/entry.ts';
import { type ChunkFrame, makeFrame } from '../core/frames.ts';
import { collisionKey } from '../core/paths.ts';
import type { ChangeResult, Problem, PushHeader, PushResponse } from '../core/protocol.ts';
import type { VersionVector } from '../core/vector.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { countByStatus, type SpanHandle, type Traces, withSpan } from '../traces/traces.ts';
import type { ChunkCache } from './chunk-cache.ts';
import type { HubClient } from './client.ts';
import { HubError } from './client.ts';
import { Limiter } from './limiter.ts';
import { fileContent, type Observation, STREAMED_FILE_BYTES } from './local-tree.ts';
import type { AgentState } from './state.ts';
import { packFrames, uploadFrames } from './transfer.ts';
import { readChunkAt, readTreeFile } from './tree-fs.ts';

/** Compressed chunk bytes per envelope while a streamed file uploads. */
const STREAM_ENVELOPE_BYTES = 16 * 1024 * 1024;

export interface PendingPush {
  path: string;
  content: EntryContent;
  vector: VersionVector;
  obs: Observation;
  /** The content is this agent's three-way merge of concurrent edits (the hub counts it). */
  merged?: boolean;
}

export interface PusherDeps {
  dir: string;
  agentId: string;
  client: HubClient;
  cache: ChunkCache;
  state: AgentState;
  log: (line: string) => void;
  /** Files this large are uploaded chunk by chunk, read at their offsets (STREAMED_FILE_BYTES). */
  streamFrom?: number;
  metrics?: AgentMetrics;
  onPushed?: (event: { paths: string[]; bytes: number; conflicts: string[] }) => void;
  /** A `push` span per batch; its requests carry it as their traceparent (see HubClient). */
  traces?: Traces;
}

export class Pusher {
  /** Chunks the hub is known to hold: every chunk of every base, plus what was uploaded. */
  private readonly knownChunks = new ChunkSet();
  /** Content the hub refused for a path (case collision...), not to be pushed again unchanged. */
  private readonly refused = new Map<string, { identity: string; problem: Problem }>();

  constructor(private readonly deps: PusherDeps) {}

  /** True when the hub refused exactly this content for this path before. */
  wasRefused(path: string, content: EntryContent): boolean {
    // Asked of every path a cycle sees: the content's identity is built only for a refused path.
    const refused = this.refused.get(path);
    return refused !== undefined && refused.identity === identity(content);
  }

  problems(): Problem[] {
    return [...this.refused.values()].map((r) => r.problem);
  }

  private knownFile(content: EntryContent): boolean {
    return content.kind === 'file' && content.chunks.every(([h]) => this.knownChunks.has(h));
  }

  /** Chunks the hub now holds: everything sent except what it reported damaged. */
  private rememberSent(frames: readonly ChunkFrame[], damaged: readonly string[]): void {
    const bad = new Set(damaged);
    for (const f of frames) if (!bad.has(f.hash)) this.knownChunks.add(f.hash);
  }

  /** Records that the hub holds every chunk of `content` (it is, or was, a version there). */
  remember(content: EntryContent): void {
    if (content.kind === 'file') for (const [hash] of content.chunks) this.knownChunks.add(hash);
  }

  /**
   * A path refused because it collided with a live path may go once that path is deleted (the
   * second step of `cp readme.md README.md; rm readme.md`): its refusal is forgotten, so the next
   * observation pushes it instead of holding it back as refused.
   */
  private releaseCollisions(
    pushes: readonly PendingPush[],
    results: readonly ChangeResult[],
    recheck: (path: string) => void,
  ): void {
    if (this.refused.size === 0) return;
    const deleted = new Set(pushes.filter((p) => p.content.kind === 'deleted').map((p) => p.path));
    const freed = new Set(
      results.filter((r) => r.status === 'accepted' && deleted.has(r.path)).map((r) => collisionKey(r.path)),
    );
    if (freed.size === 0) return;
    for (const [path, refusal] of this.refused) {
      if (refusal.problem.code !== 'case-collision' || !freed.has(collisionKey(path))) continue;
      this.refused.delete(path);
      recheck(path);
    }
  }

  /**
   * Pushes local changes as one batch: the chunks the hub lacks first (in envelopes sent a few at
   * a time), then the changes with the last envelope. Updates the bases from the hub's answers and
   * returns how many changes the hub took (accepted, already there, or settled as conflicts).
   * `recheck` names paths to observe again: files that disappeared before they could be read, and
   * paths refused as collisions with a path this push deleted.
   */
  async push(
    pushesIn: PendingPush[],
    branch: string | undefined,
    branchSwitch: boolean,
    recheck: (path: string) => void,
  ): Promise<number> {
    try {
      return await withSpan(this.deps.traces, 'push', { root: true }, (span) =>
        this.pushBatch(pushesIn, branch, branchSwitch, recheck, span),
      );
    } catch (error) {
      if (!(error instanceof HubError) || error.status !== 403) throw error;
      // The credential may not change the workspace (read-only, another agent's): every edit of
      // the batch is refused as it stands, reported, and not sent again until it changes.
      for (const p of pushesIn) {
        const problem = { path: p.path, code: 'forbidden', message: error.message };
        this.refused.set(p.path, { identity: identity(p.content), problem });
      }
      this.deps.log(`the hub refused ${pushesIn.length} change(s): ${error.message}`);
      return 0;
    }
  }

  /**
   * Uploads the chunks of a streamed file that the hub lacks, each read at its offset and checked
   * against its hash, in envelopes of bounded size: memory holds one envelope, never the file.
   * False when the file no longer holds the chunks it was described with.
   */
  private async uploadStreamed(p: PendingPush, known: (hash: string) => boolean): Promise<boolean> {
    if (p.content.kind !== 'file') return true;
    let group: ChunkFrame[] = [];
    let groupBytes = 0;
    const send = async () => {
      if (group.length === 0) return;
      const reply = await this.deps.client.push(
        { agent: this.deps.agentId, batch: 'edits', changes: [] },
        group,
      );
      this.rememberSent(group, reply.missingChunks);
      group = [];
      groupBytes = 0;
    };
    let offset = 0;
    for (const [hash, size] of p.content.chunks) {
      const at = offset;
      offset += size;
      if (known(hash) || group.some((f) => f.hash === hash)) continue;
      const chunk = readChunkAt(this.deps.dir, p.path, at, size, hash);
      if (!chunk) return false;
      const frame = makeFrame(hash, chunk);
      group.push(frame);
      groupBytes += frame.payload.length;
      if (groupBytes >= STREAM_ENVELOPE_BYTES) await send();
    }
    await send();
    return true;
  }

  /**
   * Uploads, ahead of their push, the chunks of changes that are to be pushed once the push in
   * flight is answered: a first sync goes in slices, and this lets the next slice be read,
   * framed and stored on the hub while the one before it commits. Only chunk-only envelopes are
   * sent (the hub flushes them before it answers), so nothing is committed out of order; the
   * slice's own push then finds its chunks known and sends its changes alone. A failure here
   * costs nothing but time: that push sends whatever is still unknown.
   */
  async sendAhead(pushes: PendingPush[], recheck: (path: string) => void): Promise<void> {
    const { frames } = await this.frameChanges(pushes, recheck);
    await this.uploadChunkEnvelopes(packFrames(frames));
  }

  /** Chunk-only envelopes, a few at a time, so the hub verifies and stores one while the next is sent. */
  private async uploadChunkEnvelopes(groups: readonly ChunkFrame[][]): Promise<void> {
    const uploads = new Limiter(3);
    await uploads.map(groups, async (group) => {
      const reply = await this.deps.client.push(
        { agent: this.deps.agentId, batch: 'edits', changes: [] },
        group,
      );
      this.rememberSent(group, reply.missingChunks);
    });
  }

  /**
   * The frames of the chunks the hub lacks among `pushes`' files (read now where the observation
   * kept no bytes), their hashes, and the files too large to hold, to be uploaded streamed.
   */
  private async frameChanges(
    pushes: readonly PendingPush[],
    recheck: (path: string) => void,
  ): Promise<{ frames: ChunkFrame[]; sending: ReadonlySet<string>; streamed: PendingPush[] }> {
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
      const missing = new Set(await this.deps.client.missing(unknownChunks));
      for (const hash of unknownChunks) if (!missing.has(hash)) this.knownChunks.add(hash);
      unknownChunks = [];
    }
    const streamed: PendingPush[] = [];
    for (const p of pushes) {
      if (p.content.kind !== 'file') continue;
      let bytes = p.obs.bytes;
      // Known by its stat (a file moved with its folder) and held by the hub: nothing to read or send.
      if (!bytes && this.knownFile(p.content)) continue;
      if (!bytes && p.content.size >= (this.deps.streamFrom ?? STREAMED_FILE_BYTES)) {
        streamed.push(p);
        continue;
      }
      if (!bytes) {
        // Not read while observing: read now, and describe what was actually read.
        try {
          bytes = readTreeFile(this.deps.dir, p.path);
        } catch {
          // Gone or unreadable since it was observed: the next cycle sees what it became.
          recheck(p.path);
          continue;
        }
        p.content = fileContent(bytes, p.content.exec, p.content.mode);
        p.obs = { ...p.obs, content: p.content, bytes };
      }
      if (p.content.kind !== 'file') continue;
      this.deps.cache.addFile(p.content.chunks, bytes);
      const known = (hash: string) => this.knownChunks.has(hash) || sending.has(hash);
      for (const frame of uploadFrames(
        p.content.chunks,
        bytes,
        this.deps.state.base(p.path)?.content,
        this.deps.cache,
        known,
      )) {
        frames.push(frame);
        sending.add(frame.hash);
      }
    }
    return { frames, sending, streamed };
  }

  /**
   * The push with large files' chunk lists as edits of the versions the hub was last seen to hold,
   * sent as one push, or as several in a row when the edits together would expand past the hub's
   * bound (MAX_EXPANDED_CHUNKS). The frames go with the first; the answers are merged.
   */
  private async sendCompacted(header: PushHeader, frames: readonly ChunkFrame[]): Promise<PushResponse> {
    const groups = compactInGroups(header.changes, (c) => this.deps.state.base(c.path)?.content);
    let merged: PushResponse | undefined;
    for (const [index, changes] of groups.entries()) {
      const answer = await this.deps.client.push({ ...header, changes }, index === 0 ? frames : []);
      merged = merged
        ? {
            head: answer.head,
            results: [...merged.results, ...answer.results],
            missingChunks: [...new Set([...merged.missingChunks, ...answer.missingChunks])],
          }
        : answer;
    }
    return merged!;
  }

  /**
   * Sends whole, at once, the changes the hub refused as edits of a version it no longer holds
   * (another agent changed the path since), and merges the answers. Their chunks went with the
   * first push; any the hub still lacks are asked for in the answer as usual.
   */
  private async sendStaleWhole(header: PushHeader, response: PushResponse): Promise<PushResponse> {
    const stale = new Set(
      response.results
        .filter((r) => r.status === 'rejected' && r.code === STALE_CHUNK_BASE)
        .map((r) => r.path),
    );
    if (stale.size === 0) return response;
    const again = await this.deps.client.push(
      { ...header, changes: header.changes.filter((c) => stale.has(c.path)) },
      [],
    );
    return {
      head: again.head,
      results: [...response.results.filter((r) => !stale.has(r.path)), ...again.results],
      missingChunks: [...new Set([...response.missingChunks, ...again.missingChunks])],
    };
  }

  private async pushBatch(
    pushesIn: PendingPush[],
    branch: string | undefined,
    branchSwitch: boolean,
    recheck: (path: string) => void,
    span?: SpanHandle,
  ): Promise<number> {
    let pushes = pushesIn;
    span?.set(pushAttributes(pushesIn));
    const started = performance.now();
    const { frames, sending, streamed } = await this.frameChanges(pushes, recheck);
    const groups = packFrames(frames);
    const last = groups.pop() ?? [];
    // Chunk-only envelopes go ahead of the commit; the last one carries the changes.
    await this.uploadChunkEnvelopes(groups);
    for (const p of streamed) {
      const known = (hash: string) => this.knownChunks.has(hash) || sending.has(hash);
      // Changed since it was described: the next cycle describes it again.
      if (!(await this.uploadStreamed(p, known))) recheck(p.path);
    }
    // Files that vanished before they could be read wait for the next cycle.
    pushes = pushes.filter(
      (p) => p.content.kind !== 'file' || p.obs.bytes !== undefined || this.knownFile(p.content),
    );
    if (pushes.length === 0) return 0;
    const header: PushHeader = {
      agent: this.deps.agentId,
      branch,
      batch: branchSwitch ? 'branch-switch' : 'edits',
      changes: commitOrder(pushes).map((p) => ({
        path: p.path,
        content: p.content,
        vector: p.vector,
        ...(p.merged ? { merged: true as const } : {}),
      })),
    };
    // Durable before it is sent: when its answer is lost (a kill, a hub gone away) the versions
    // are settled against the hub's manifest later (see core/intent.ts); this also writes the counter.
    const since = this.deps.state.cursor;
    this.deps.state.recordIntents(
      header.changes.map(
        (c) => [c.path, { op: 'push', content: c.content, vector: c.vector, since }] as const,
      ),
    );
    let response = await this.sendCompacted(header, last);
    this.rememberSent(last, response.missingChunks);
    response = await this.sendStaleWhole(header, response);
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
        if (!p.obs.bytes && p.content.size >= (this.deps.streamFrom ?? STREAMED_FILE_BYTES)) {
          await this.uploadStreamed(p, () => false);
          continue;
        }
        const bytes = p.obs.bytes ?? readTreeFile(this.deps.dir, p.path);
        resend.push(...uploadFrames(p.content.chunks, bytes, undefined, this.deps.cache, () => false));
      }
      await new Promise((r) => setTimeout(r, 1000 * 2 ** retry));
      const retried = await this.deps.client.push(
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
        this.deps.state.dropIntent(p.path);
        continue;
      }
      this.refused.delete(p.path);
      this.deps.metrics?.pushed.inc({ result: result.status });
      const vector = result.status === 'accepted' ? result.vector : p.vector;
      this.deps.state.setBase(p.path, { content: p.content, vector, stat: p.obs.stat, statAt: Date.now() });
      this.remember(p.content);
      if (result.status === 'conflict') conflicts.push(p.path);
      accepted++;
    }
    this.releaseCollisions(pushes, response.results, recheck);
    const bytes = frames.reduce((n, f) => n + f.payload.length, 0);
    this.deps.metrics?.pushDuration.observe((performance.now() - started) / 1000);
    if (conflicts.length > 0) this.deps.metrics?.conflicts.inc(conflicts.length);
    this.deps.log(
      `pushed ${accepted} change(s), ${bytes} chunk bytes, in ${Math.round(performance.now() - started)} ms${conflicts.length ? `; conflicts: ${conflicts.join(', ')}` : ''}`,
    );
    this.deps.onPushed?.({ paths: pushes.map((p) => p.path), bytes, conflicts });
    span?.set({
      ...countByStatus(response.results),
      'warmsync.bytes': bytes,
      'warmsync.frames': frames.length,
    });
    return accepted;
  }
}

/**
 * Deletions ahead of everything else: the hub decides a batch in order and refuses a new path
 * that collides (by letter case or normalisation) with a live one, so the new spelling of a
 * case-only rename must come after the deletion of the old one.
 */
function commitOrder(pushes: readonly PendingPush[]): PendingPush[] {
  return [
    ...pushes.filter((p) => p.content.kind === 'deleted'),
    ...pushes.filter((p) => p.content.kind !== 'deleted'),
  ];
}

/** What a push span says before the push is sent: how many paths, the first few, their size. */
function pushAttributes(pushes: readonly PendingPush[]) {
  return {
    'warmsync.changes': pushes.length,
    'warmsync.paths': pushes.slice(0, 10).map((p) => p.path),
    'warmsync.size': pushes.reduce((n, p) => n + (p.content.kind === 'file' ? p.content.size : 0), 0),
  };
}

function identity(content: EntryContent): string {
  return JSON.stringify(content);
}
