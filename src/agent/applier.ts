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
} from './apply.ts';
import { assemble, type GatherDeps, gatherChunks } from './chunk-gatherer.ts';
import type { Durability } from './durability.ts';
import type { Limiter } from './limiter.ts';
import type { Observation } from './local-tree.ts';
import { respellingsOf } from './respell.ts';
import { Spellings } from './spelling.ts';
import type { StatStamp } from './state.ts';

/** Remote files written per slice while the next slice's chunks are fetched. */
const APPLY_SLICE = 1000;

export interface ApplyItem {
  entry: ManifestEntry;
  obs: Observation;
}

export type ItemOutcome =
  | { ok: true; stat?: StatStamp; bytes?: Uint8Array }
  | { ok: false; code: ApplyFailureCode; message: string; retry: boolean };

export interface ApplierDeps {
  dir: string;
  /** How the file system under `dir` compares names. */
  folding: Folding;
  limiter: Limiter;
  durability: Durability;
  gather: GatherDeps;
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
  const writes = items
    .filter((a) => exists(a.entry.content))
    .sort((a, b) => pathDepth(a.entry.path) - pathDepth(b.entry.path));
  const deletes = items
    .filter((a) => !exists(a.entry.content))
    .sort((a, b) => pathDepth(b.entry.path) - pathDepth(a.entry.path));
  const checked: CheckedFolders = new Set();
  const spellings = new Spellings(deps.dir, deps.folding);
  const respellings = respellingsOf(writes, deletes, deps.folding);
  /** Paths renamed into place or removed: their folders are flushed before the caller records them. */
  const touched: string[] = [];
  const slices: ApplyItem[][] = [];
  for (let i = 0; i < writes.length; i += APPLY_SLICE) slices.push(writes.slice(i, i + APPLY_SLICE));
  const fetchSlice = (slice: readonly ApplyItem[]) => {
    const pending = gatherChunks(
      deps.gather,
      slice.map((a) => a.entry),
    );
    pending.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    return pending;
  };
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
            );
            if (outcome.ok === 'staged') staged.push({ item, write: outcome.staged, bytes });
            else {
              // Done at once (a folder, or a rename to the new spelling): flushed with the rest.
              if (outcome.ok) touched.push(join(deps.dir, item.entry.path));
              settle(item, withBytes(outcome, bytes));
            }
          }),
        ),
      );
    }
    // One flush makes every staged file of the slice durable before any of them becomes visible.
    deps.durability.flush(staged.map((s) => s.write.temp));
    for (const { item, write, bytes } of staged) {
      const outcome = finishWrite(write);
      if (outcome.ok) {
        touched.push(write.absolute);
        spellings.added(write.path);
      }
      settle(item, withBytes(outcome, bytes));
    }
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
          if (outcome.ok) touched.push(join(deps.dir, item.entry.path));
          settle(item, outcome);
        }),
      ),
    );
  }
  // The renames and removals reach the disk before the caller's state records them as bases.
  deps.durability.flush(touched);
}

/** What the agent believes is on disk at the path: the stat it observed, or nothing. */
function expectedOf(obs: Observation): StatStamp | undefined {
  return exists(obs.content) ? obs.stat : undefined;
}

function withBytes(outcome: ApplyOutcome, bytes: Uint8Array | undefined): ItemOutcome {
  return outcome.ok ? { ok: true, stat: outcome.stat, bytes } : outcome;
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
