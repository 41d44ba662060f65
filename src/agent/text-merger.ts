/**
 * Three-way merge of a local edit with a concurrent remote one, before the local edit is pushed
 * (core/merge-text.ts decides; this gathers the bytes and hands back what to write).
 *
 * When a cycle finds a text file edited here while a newer version of it waits from the hub, the
 * two edits descend from the base the agent holds. If their hunks are disjoint, the merge is
 * written here as if the remote version had been applied and then edited into the merge: the
 * base becomes the remote version, so the next cycle pushes the merge with a vector that
 * dominates both, and every peer gets it instead of a conflict copy. Anything the merge cannot
 * settle (overlap, binary, too big, a base or remote whose bytes cannot be had) goes on as
 * before: the edit is pushed and the hub keeps a conflict copy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { chunkBytes } from '../core/chunk.ts';
import { type EntryContent, type ManifestEntry, sameContent } from '../core/entry.ts';
import { fileHashFromChunks } from '../core/hash.ts';
import { MERGE_MAX_BYTES, mergeableText, mergeText } from '../core/merge-text.ts';
import type { ModePolicy } from '../core/sync-mode.ts';
import { compareVectors } from '../core/vector.ts';
import { assemble, type GatherDeps, gatherChunks } from './chunk-gatherer.ts';
import type { Observation } from './local-tree.ts';
import type { PendingPush } from './pusher.ts';
import type { AgentState } from './state.ts';

/** Which files are merged (the project file's `[merge]`). */
export interface MergeSettings {
  /** Default true. */
  enabled?: boolean;
  /** Files larger than this (on any side) keep conflict copies (default 1 MiB). */
  maxBytes?: number;
  /** gitignore-style patterns of files never merged (lockfiles, generated code...). */
  except?: readonly string[];
}

/** A merge to write: `entry` holds the merged content; `after` is the base it leaves. */
export interface MergedWrite {
  entry: ManifestEntry;
  /** The remote version the merge is made over: it becomes the base once the merge is written. */
  remote: ManifestEntry;
  bytes: Uint8Array;
}

export interface TextMergerDeps {
  dir: string;
  state: AgentState;
  gather: GatherDeps;
  log: (line: string) => void;
  /** The newer remote version waiting for a path (pending, or withheld by its mode), if any. */
  known: (path: string) => ManifestEntry | undefined;
  /** What the path's sync mode allows: only two-way paths are merged. */
  policyOf: (path: string) => ModePolicy;
  /** Writes merges over the local edits (remote-writer.ts); resolves to the paths written. */
  write: (merges: readonly MergedWrite[], obsOf: (path: string) => Observation) => Promise<string[]>;
}

export class TextMerger {
  private readonly except: Ignore | undefined;
  /** Paths whose merge is written and whose push is next (it is marked as a merge). */
  private readonly waiting = new Set<string>();
  /** Merges pushed since start (status). */
  pushed = 0;

  constructor(
    private readonly deps: TextMergerDeps,
    private readonly settings: MergeSettings = {},
  ) {
    this.except = settings.except?.length
      ? ignore({ ignorecase: false }).add([...settings.except])
      : undefined;
  }

  /**
   * A cycle's pushes, with the local edits of two-way text files that a newer remote version
   * waits for merged three ways where the edits are disjoint: each merge is written here and
   * pushed by the next cycle, that push marked as a merge. Returns the pushes that go on now.
   */
  async mergeConcurrentEdits<P extends PendingPush>(
    pushes: P[],
    observed: ReadonlyMap<string, Observation>,
  ): Promise<P[]> {
    for (const push of pushes)
      if (this.waiting.delete(push.path)) {
        push.merged = true;
        this.pushed++;
      }
    const { known } = this.deps;
    const twoWay = (p: PendingPush) => {
      const policy = this.deps.policyOf(p.path);
      return (
        policy.push && policy.apply && !policy.overwriteLocal && !p.merged && known(p.path) !== undefined
      );
    };
    const candidates = pushes.filter(twoWay);
    if (candidates.length === 0) return pushes;
    const { merges } = await this.split(candidates, known);
    if (merges.length === 0) return pushes;
    const written = new Set(await this.deps.write(merges, (path) => observed.get(path)!));
    // A merge that came out as the remote version needs no push (the next cycle finds agreement).
    for (const m of merges)
      if (written.has(m.entry.path) && !sameContent(m.entry.content, m.remote.content))
        this.waiting.add(m.entry.path);
    const merging = new Set(merges.map((m) => m.entry.path));
    return pushes.filter((p) => !merging.has(p.path));
  }

  /**
   * Splits a cycle's pushes into the merges to write and the pushes that go on as they are.
   * `known` gives each path's newer remote version, if one waits.
   */
  async split(
    pushes: readonly PendingPush[],
    known: (path: string) => ManifestEntry | undefined,
  ): Promise<{ merges: MergedWrite[]; rest: PendingPush[] }> {
    const merges: MergedWrite[] = [];
    const rest: PendingPush[] = [];
    if (this.settings.enabled === false) return { merges, rest: [...pushes] };
    for (const push of pushes) {
      const remote = known(push.path);
      const merged = remote ? await this.tryMerge(push, remote).catch(() => undefined) : undefined;
      if (merged) merges.push(merged);
      else rest.push(push);
    }
    return { merges, rest };
  }

  private async tryMerge(push: PendingPush, remote: ManifestEntry): Promise<MergedWrite | undefined> {
    const base = this.deps.state.base(push.path);
    const max = this.settings.maxBytes ?? MERGE_MAX_BYTES;
    const isText = (c: EntryContent | undefined): c is Extract<EntryContent, { kind: 'file' }> =>
      c?.kind === 'file' && c.size <= max;
    // Only concurrent edits of one text file from a known common base.
    if (!base || !isText(base.content) || !isText(push.content) || !isText(remote.content)) return undefined;
    if (compareVectors(remote.vector, base.vector) !== 'after') return undefined;
    if (this.except?.ignores(push.path)) return undefined;
    const [baseBytes, remoteBytes] = await this.fetch(push.path, [base.content, remote.content]);
    const localBytes = push.obs.bytes ?? readFileSync(join(this.deps.dir, push.path));
    const texts = [baseBytes, localBytes, remoteBytes].map((b) => (b ? mergeableText(b, max) : undefined));
    if (texts.some((t) => t === undefined)) return undefined;
    const [baseText, localText, remoteText] = texts as [string, string, string];
    const result = mergeText(baseText, localText, remoteText);
    if (!result.clean) {
      this.deps.log(`${push.path}: concurrent edits overlap (${result.reason}); a conflict copy keeps both`);
      return undefined;
    }
    const bytes = new TextEncoder().encode(result.text);
    const chunks = chunkBytes(bytes);
    const content: EntryContent = {
      kind: 'file',
      hash: fileHashFromChunks(chunks.map((c) => c.hash)),
      size: bytes.length,
      exec: push.content.exec,
      chunks: chunks.map((c) => [c.hash, c.size] as [string, number]),
      ...(push.content.mode === undefined ? {} : { mode: push.content.mode }),
    };
    return { entry: { ...remote, content }, remote, bytes };
  }

  /** The bytes of each content, from memory or the hub (undefined where a chunk cannot be had). */
  private async fetch(path: string, contents: EntryContent[]): Promise<(Uint8Array | undefined)[]> {
    const entries = contents.map((content) => ({ path, content, vector: {}, seq: 0, agent: '' }));
    const bytes = await gatherChunks(this.deps.gather, entries);
    return contents.map((c) => (c.kind === 'file' ? assemble(c.chunks, bytes) : undefined));
  }
}
