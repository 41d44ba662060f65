/**
 * A large file's chunk list sent as an edit of the version the receiver holds.
 *
 * Why: a 4 GiB file has about 65,000 chunks, and its list (a hash and a size each) is about 2 MiB
 * on the wire even compressed. Sent whole with every change, the list costs twice the bytes of a
 * 1 MiB edit, on each leg. An edit names the receiver's version by its file hash and spells the
 * new list as runs copied from the old one and the chunks that are new.
 *
 * Invariant: an expanded list is only taken when it hashes to the file hash the sender declared,
 * so an edit against the wrong version (or a damaged one) can never stand for other content.
 */
import type { ChunkSpec, EntryContent } from './entry.ts';
import { fileHashFromChunks } from './hash.ts';
import { MAX_CHUNKS_PER_FILE } from './limits.ts';

/** A run of the old list (`[start, count]`) or a chunk of the new one (`[hash, size]`). */
export type ChunkEditOp = [start: number, count: number] | ChunkSpec;

export interface ChunkEdit {
  /** The file hash of the version the edit applies to. */
  from: string;
  ops: ChunkEditOp[];
}

/** A file's content as it travels: its chunk list whole, or (one or the other) an edit of an older one. */
export type WireFileContent = Omit<Extract<EntryContent, { kind: 'file' }>, 'chunks'> & {
  chunks?: ChunkSpec[];
  edit?: ChunkEdit;
};
export type WireContent = Exclude<EntryContent, { kind: 'file' }> | WireFileContent;

/** The hub's refusal of an edit of a version it does not hold: the agent sends the list whole. */
export const STALE_CHUNK_BASE = 'stale-chunk-base';

/** Lists shorter than this travel whole: the edit would save a few hundred bytes at most. */
export const EDIT_MIN_CHUNKS = 64;

/**
 * Chunk-list entries all the edits of one push, or of one live message, may expand to together.
 * An edit is a few bytes per run however long the run, so without a bound a small message could
 * name a held list of 65,000 chunks thousands of times and make its receiver build billions of
 * entries; whole lists are bounded by the header's size instead. One file at the per-file bound.
 */
export const MAX_EXPANDED_CHUNKS = MAX_CHUNKS_PER_FILE;

/** The length of the list `ops` spell, counted without building it. */
export function expandedLength(ops: readonly ChunkEditOp[]): number {
  let length = 0;
  for (const op of ops) length += typeof op[0] === 'string' ? 1 : Math.max(0, op[1] as number);
  return length;
}

/** The entries the edits among `contents` expand to, together. */
export function expansionOf(contents: Iterable<WireContent>): number {
  let total = 0;
  for (const content of contents)
    if (content.kind === 'file' && content.edit) total += expandedLength(content.edit.ops);
  return total;
}

/**
 * Each content compacted against its receiver's version (`baseOf(item)`), as `compactContent`
 * does, while the edits together stay within `bound` (MAX_EXPANDED_CHUNKS); past it they go whole, so a
 * receiver never refuses a message its sender made.
 */
export function compactWithin<T extends { content: EntryContent }>(
  items: readonly T[],
  baseOf: (item: T) => EntryContent | undefined,
  bound = MAX_EXPANDED_CHUNKS,
): Array<Omit<T, 'content'> & { content: WireContent }> {
  let budget = bound;
  return items.map((item) => {
    const content = compactContent(item.content, baseOf(item));
    if (content.kind !== 'file' || !content.edit) return item;
    const length = expandedLength(content.edit.ops);
    if (length > budget) return item;
    budget -= length;
    return { ...item, content };
  });
}

/**
 * Each content compacted as `compactContent` does, in groups whose edits together stay within
 * `bound`: one message per group, so that a push of many large files' edits is split rather than
 * refused (or sent with whole lists that would overrun the header's bound).
 */
export function compactInGroups<T extends { content: EntryContent }>(
  items: readonly T[],
  baseOf: (item: T) => EntryContent | undefined,
  bound = MAX_EXPANDED_CHUNKS,
): Array<Array<Omit<T, 'content'> & { content: WireContent }>> {
  const groups: Array<Array<Omit<T, 'content'> & { content: WireContent }>> = [[]];
  let used = 0;
  for (const item of items) {
    const content = compactContent(item.content, baseOf(item));
    const length = content.kind === 'file' && content.edit ? expandedLength(content.edit.ops) : 0;
    if (used + length > bound && groups[groups.length - 1]!.length > 0) {
      groups.push([]);
      used = 0;
    }
    used += length;
    groups[groups.length - 1]!.push({ ...item, content });
  }
  return groups;
}

/** The ops that turn `before` into `after`: the longest runs of `before` in order, else new chunks. */
export function diffChunkLists(before: readonly ChunkSpec[], after: readonly ChunkSpec[]): ChunkEditOp[] {
  const firstIndex = new Map<string, number>();
  for (const [index, [hash]] of before.entries()) if (!firstIndex.has(hash)) firstIndex.set(hash, index);
  const ops: ChunkEditOp[] = [];
  let run: [number, number] | undefined;
  const same = (index: number, [hash, size]: ChunkSpec) =>
    before[index]?.[0] === hash && before[index]?.[1] === size;
  for (const chunk of after) {
    if (run && same(run[0] + run[1], chunk)) {
      run[1]++;
      continue;
    }
    const start = firstIndex.get(chunk[0]);
    run = start !== undefined && same(start, chunk) ? [start, 1] : undefined;
    ops.push(run ?? [chunk[0], chunk[1]]);
  }
  return ops;
}

/** `before` with `ops` applied; undefined when an op reaches past it or the list grows too long. */
export function applyChunkEdit(
  before: readonly ChunkSpec[],
  ops: readonly ChunkEditOp[],
): ChunkSpec[] | undefined {
  const out: ChunkSpec[] = [];
  for (const op of ops) {
    if (typeof op[0] === 'string') {
      out.push([op[0], op[1]]);
    } else {
      const [start, count] = op as [number, number];
      if (count < 1 || start + count > before.length) return undefined;
      if (out.length + count > MAX_CHUNKS_PER_FILE) return undefined;
      for (let i = start; i < start + count; i++) out.push([before[i]![0], before[i]![1]]);
    }
    if (out.length > MAX_CHUNKS_PER_FILE) return undefined;
  }
  return out;
}

/**
 * `content` as it is best sent to a receiver that holds `base`: as an edit of base's chunk list
 * when the list is long and the edit well under half its length, else unchanged.
 */
export function compactContent(content: EntryContent, base: EntryContent | undefined): WireContent {
  if (content.kind !== 'file' || content.chunks.length < EDIT_MIN_CHUNKS) return content;
  if (base?.kind !== 'file' || base.hash === content.hash || base.chunks.length === 0) return content;
  const ops = diffChunkLists(base.chunks, content.chunks);
  if (ops.length * 2 > content.chunks.length) return content;
  const { chunks: _whole, ...rest } = content;
  return { ...rest, edit: { from: base.hash, ops } };
}

/**
 * The whole content from one that may carry an edit. `listOf` gives the chunk list of a version
 * the receiver holds, by file hash. Undefined when it holds no such version, or the edit does not
 * give a list that hashes to the declared file hash.
 */
export function expandContent(
  content: WireContent,
  listOf: (fileHash: string) => readonly ChunkSpec[] | undefined,
): EntryContent | undefined {
  if (content.kind !== 'file') return content;
  if (!content.edit) {
    const { edit: _none, chunks, ...rest } = content;
    return chunks ? { ...rest, chunks } : undefined;
  }
  const base = listOf(content.edit.from);
  if (!base) return undefined;
  const chunks = applyChunkEdit(base, content.edit.ops);
  if (!chunks || fileHashFromChunks(chunks.map(([h]) => h)) !== content.hash) return undefined;
  const { edit: _edit, chunks: _none, ...rest } = content;
  return { ...rest, chunks };
}

/** A lookup for `expandContent` over the contents a receiver holds. */
export function listsOf(
  ...held: (EntryContent | undefined)[]
): (fileHash: string) => ChunkSpec[] | undefined {
  return (fileHash) => {
    for (const content of held)
      if (content?.kind === 'file' && content.hash === fileHash) return content.chunks;
    return undefined;
  };
}
