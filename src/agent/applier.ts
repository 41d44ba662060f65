/**
 * Writing a batch of remote versions to the folder: chunks gathered slice by slice (the next
 * slice's chunks are fetched while this one is written), files staged under temporary names, made
 * durable in one flush, then renamed into place, folders before their contents and deletions
 * deepest first after the writes. Every version ends with an outcome; none is dropped.
 *
 * Where the file system folds names, one spelling check (listings read once) serves the whole
 * batch, and a path written whose old spelling the batch deletes is respelled in one rename (see
 * respell.ts) before its content is staged.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ApplyFailureCode } from '../core/apply-outcome.ts';
import { exists, type ManifestEntry } from '../core/entry.ts';
import type { Folding } from '../core/folding.ts';
import { fileHashFromChunks } from '../core/hash.ts';
import { pathDepth } from '../core/paths.ts';
import {
  type ApplyOutcome,
  type CheckedFolders,
  finishWrite,
  type StagedWrite,
  stageContent,
  writeStaged,
} from './apply.ts';
import { assemble, donorsOf, type GatherDeps, gatherChunks } from './chunk-gatherer.ts';
import type { Durability } from './durability.ts';
import { applyFolderMove, findFolderMoves } from './folder-move.ts';
import type { Limiter } from './limiter.ts';
import { type Observation, STREAMED_FILE_BYTES } from './local-tree.ts';
import { respellingsOf } from './respell.ts';
import { Spellings } from './spelling.ts';
import type { StatStamp } from './state.ts';
import { VerifiedReader } from './tree-fs.ts';

/** Remote files written per slice while the next slice's chunks are fetched. */
const APPLY_SLICE = 1000;
/** Batches of more files than this write them in the thread pool (see writeStaged). */
const DEFER_WRITES_FROM = 16;

export interface ApplyItem {
  entry: ManifestEntry;
  obs: Observation;
}

export type ItemOutcome =
  | { ok: true; stat?: StatStamp; statProves?: boolean; bytes?: Uint8Array }
  | { ok: false; code: ApplyFailureCode; message: string; retry: boolean };

export interface ApplierDeps {
  dir: string;
  /** How the file system under `dir` compares names. */
  folding: Folding;
  limiter: Limiter;
  durability: Durability;
  gather: GatherDeps;
  /** Files this large are written chunk window by chunk window (STREAMED_FILE_BYTES). */
  streamFrom?: number;
}

/**
 * Applies `items`, calling `settle` once per item with its outcome, in the order the writes
 * became visible. Resolves when every item is settled and everything written is durable.
 */
export async function applyBatch(
  deps: ApplierDeps,
  items: readonly ApplyItem[],
  settle: (item: ApplyItem, outcome: ItemOutcome) => void,
): Promise<void> {
  const streamFrom = deps.streamFrom ?? STREAMED_FILE_BYTES;
  const isStreamed = (a: ApplyItem) => a.entry.content.kind === 'file' && a.entry.content.size >= streamFrom;
  const allWrites = items
    .filter((a) => exists(a.entry.content))
    .sort((a, b) => pathDepth(a.entry.path) - pathDepth(b.entry.path));
  let writes = allWrites.filter((a) => !isStreamed(a));
  let streamed = allWrites.filter(isStreamed);
  let deletes = items
    .filter((a) => !exists(a.entry.content))
    .sort((a, b) => pathDepth(b.entry.path) - pathDepth(a.entry.path));
  /** Paths renamed into place or removed: their folders are flushed before the caller records them. */
  const touched: string[] = [];
  /** Those of them whose folder alone is to be flushed: files flushed before their rename, removals. */
  const folderOnly = new Set<string>();
  // A folder moved on the peer is moved here in one rename where the disk allows (folder-move.ts).
  const moved = new Set<ApplyItem>();
  for (const move of findFolderMoves(allWrites, deletes, deps.folding)) {
    const flush = applyFolderMove(deps.dir, move, settle);
    if (!flush) continue;
    touched.push(...flush);
    for (const item of [...move.writes, ...move.deletes]) moved.add(item);
  }
  if (moved.size > 0) {
    writes = writes.filter((a) => !moved.has(a));
    streamed = streamed.filter((a) => !moved.has(a));
    deletes = deletes.filter((a) => !moved.has(a));
  }
  const checked: CheckedFolders = new Set();
  const spellings = new Spellings(deps.dir, deps.folding);
  const respellings = respellingsOf(writes, deletes, deps.folding);
  const slices: ApplyItem[][] = [];
  for (let i = 0; i < writes.length; i += APPLY_SLICE) slices.push(writes.slice(i, i + APPLY_SLICE));
  // The files this batch deletes are removed only after its writes: until then they may give
  // the content a move brings back at other paths.
  const donors = donorsOf(
    deps.gather,
    deletes.map((a) => a.entry.path),
  );
  const fetchSlice = (slice: readonly ApplyItem[]) => {
    const pending = gatherChunks(
      deps.gather,
      slice.map((a) => a.entry),
      donors,
    );
    pending.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    return pending;
  };
  // Many files: their writes go to the thread pool, side by side (see writeStaged); a few are
  // written at once, where a hop to a thread would only add to an edit's latency.
  const deferWrites = writes.length > DEFER_WRITES_FROM;
  let next = slices[0] ? fetchSlice(slices[0]) : undefined;
  for (const [index, slice] of slices.entries()) {
    const chunkBytes = await next!;
    const following = slices[index + 1];
    next = following ? fetchSlice(following) : undefined;
    const staged: Array<{ item: ApplyItem; write: StagedWrite; bytes?: Uint8Array }> = [];
    for (const level of groupByDepth(slice)) {
      await Promise.all(
        level.map((item) =>
          deps.limiter.run(async () => {
            const content = item.entry.content;
            let bytes: Uint8Array | undefined;
            if (content.kind === 'file') {
              bytes = verifiedFile(content.chunks, content.hash, chunkBytes);
              if (!bytes) {
                settle(item, {
                  ok: false,
                  code: 'missing-chunks',
                  message: 'some of its chunks could not be had from the hub or any local copy',
                  retry: true,
                });
                return;
              }
            }
            const outcome = stageContent(
              deps.dir,
              item.entry.path,
              content,
              expectedOf(item.obs),
              bytes,
              checked,
              spellings,
              respellings.get(item.entry.path),
              deferWrites,
            );
            if (outcome.ok === 'staged') {
              const failed = await writeStaged(outcome.staged);
              if (failed) settle(item, failed);
              else staged.push({ item, write: outcome.staged, bytes });
            } else {
              // Done at once (a folder, or a rename to the new spelling): flushed with the rest.
              if (outcome.ok) touched.push(join(deps.dir, item.entry.path));
              settle(item, withBytes(outcome, bytes));
            }
          }),
        ),
      );
    }
    // One flush makes every staged file of the slice durable before any of them becomes visible.
    deps.durability.flushContent(staged.map((s) => s.write.temp));
    for (const { item, write, bytes } of staged) {
      const outcome = finishWrite(write);
      if (outcome.ok) {
        touched.push(write.absolute);
        folderOnly.add(write.absolute);
        spellings.added(write.path);
      }
      settle(item, withBytes(outcome, bytes));
    }
  }
  for (const item of streamed) {
    const outcome = await writeStreamed(deps, item, checked, spellings, respellings.get(item.entry.path));
    if (outcome.ok) {
      touched.push(join(deps.dir, item.entry.path));
      folderOnly.add(join(deps.dir, item.entry.path));
    }
    settle(item, outcome);
  }
  for (const level of groupByDepth(deletes)) {
    await Promise.all(
      level.map((item) =>
        deps.limiter.run(async () => {
          const outcome = stageContent(
            deps.dir,
            item.entry.path,
            item.entry.content,
            expectedOf(item.obs),
            undefined,
            checked,
            spellings,
          );
          if (outcome.ok === 'staged') throw new Error('a deletion is never staged');
          if (outcome.ok) {
            touched.push(join(deps.dir, item.entry.path));
            folderOnly.add(join(deps.dir, item.entry.path));
          }
          settle(item, outcome);
        }),
      ),
    );
  }
  // The renames and removals reach the disk before the caller's state records them as bases.
  deps.durability.flush(touched, folderOnly);
}

/**
 * A large file: staged empty, filled window by window (each window's chunks gathered, verified,
 * written at their offsets, then let go), made durable, then renamed like any other write.
 */
async function writeStreamed(
  deps: ApplierDeps,
  item: ApplyItem,
  checked: CheckedFolders,
  spellings: Spellings,
  respelled: Parameters<typeof stageContent>[7],
): Promise<ItemOutcome> {
  const content = item.entry.content;
  if (content.kind !== 'file') throw new Error('only files are streamed');
  const missing: ItemOutcome = {
    ok: false,
    code: 'missing-chunks',
    message: 'some of its chunks could not be had from the hub or any local copy',
    retry: true,
  };
  if (fileHashFromChunks(content.chunks.map(([h]) => h)) !== content.hash) return missing;
  const empty = new Uint8Array(0);
  const { dir } = deps;
  const outcome = stageContent(
    dir,
    item.entry.path,
    content,
    expectedOf(item.obs),
    empty,
    checked,
    spellings,
    respelled,
  );
  if (outcome.ok !== 'staged') return withBytes(outcome, undefined);
  const { temp } = outcome.staged;
  const filled = await fillStreamed(deps.gather, item.entry, temp);
  if (!filled) {
    tryUnlinkTemp(temp);
    return missing;
  }
  deps.durability.flushContent([temp]);
  const finished = finishWrite(outcome.staged);
  if (finished.ok) spellings.added(item.entry.path);
  return withBytes(finished, undefined);
}

/** Raw bytes of chunks gathered and held at once while a streamed file is written. */
const STREAM_WINDOW_BYTES = 32 * 1024 * 1024;

/**
 * Writes every chunk of a large file into `temp`: the chunks its local copy still holds (the
 * previous version's, by the base's chunk list) are copied through one reused buffer, each
 * checked against its hash; the others are gathered window by window and let go once written.
 */
async function fillStreamed(gather: GatherDeps, entry: ManifestEntry, temp: string): Promise<boolean> {
  if (entry.content.kind !== 'file') return false;
  const chunks = entry.content.chunks;
  const base = gather.baseOf(entry.path)?.content;
  /** Where each chunk of the previous version sits in the local copy. */
  const local = new Map<string, number>();
  if (base?.kind === 'file') {
    let at = 0;
    for (const [hash, size] of base.chunks) {
      if (!local.has(hash)) local.set(hash, at);
      at += size;
    }
  }
  const reader = local.size > 0 ? VerifiedReader.open(gather.dir, entry.path) : undefined;
  const fd = openSync(temp, 'r+');
  try {
    const offsets: number[] = [];
    let offset = 0;
    for (const [, size] of chunks) {
      offsets.push(offset);
      offset += size;
    }
    for (let start = 0; start < chunks.length; ) {
      let end = start;
      let windowBytes = 0;
      while (end < chunks.length && (end === start || windowBytes + chunks[end]![1] <= STREAM_WINDOW_BYTES)) {
        windowBytes += chunks[end]![1];
        end++;
      }
      const rest: number[] = [];
      for (let i = start; i < end; i++) {
        const [hash, size] = chunks[i]!;
        const at = local.get(hash);
        const bytes = at === undefined ? undefined : reader?.read(at, size, hash);
        if (bytes) writeSync(fd, bytes, 0, size, offsets[i]!);
        else rest.push(i);
      }
      if (rest.length > 0) {
        const window = rest.map((i) => chunks[i]!);
        const got = await gatherChunks(gather, [{ ...entry, content: { ...entry.content, chunks: window } }]);
        for (const i of rest) {
          const [hash, size] = chunks[i]!;
          const bytes = got.get(hash);
          if (bytes?.length !== size) return false;
          writeSync(fd, bytes, 0, size, offsets[i]!);
        }
      }
      start = end;
    }
    return true;
  } finally {
    closeSync(fd);
    reader?.close();
  }
}

function tryUnlinkTemp(temp: string): void {
  try {
    unlinkSync(temp);
  } catch {
    // Already gone.
  }
}

/** What the agent believes is on disk at the path: the stat it observed, or nothing. */
function expectedOf(obs: Observation): StatStamp | undefined {
  return exists(obs.content) ? obs.stat : undefined;
}

function withBytes(outcome: ApplyOutcome, bytes: Uint8Array | undefined): ItemOutcome {
  return outcome.ok ? { ok: true, stat: outcome.stat, statProves: outcome.statProves, bytes } : outcome;
}

/**
 * The file's bytes, only when every chunk is at hand and has the length the entry declares; the
 * chunk hashes are verified where the bytes came from, and the file hash is the hash of that
 * chunk list, so the bytes are exactly the version's.
 */
function verifiedFile(
  chunks: ReadonlyArray<readonly [string, number]>,
  fileHash: string,
  bytes: ReadonlyMap<string, Uint8Array>,
): Uint8Array | undefined {
  for (const [hash, size] of chunks) if (bytes.get(hash)?.length !== size) return undefined;
  if (fileHashFromChunks(chunks.map(([h]) => h)) !== fileHash) return undefined;
  return assemble(chunks, bytes);
}

function groupByDepth<T extends { entry: ManifestEntry }>(items: readonly T[]): T[][] {
  const levels = new Map<number, T[]>();
  for (const item of items) {
    const depth = pathDepth(item.entry.path);
    const level = levels.get(depth) ?? [];
    level.push(item);
    levels.set(depth, level);
  }
  return [...levels.values()];
}
