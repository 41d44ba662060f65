/**
 * A folder moved on a peer arrives as one batch: the deletion of every path under its old name and
 * the same content under the new one. Written path by path, that is a thousand files staged,
 * flushed and renamed, then a thousand removed; here it is one rename of the local folder, when
 * the local folder holds exactly what the batch deletes, unchanged since it was observed.
 *
 * Invariants relied on: the planner hands the applier a deletion only where the disk holds the
 * base, and a write only where nothing (for a new path) is there, each with the observation it was
 * decided on. A move is done only when (1) the old folder's subtree on disk lists exactly the
 * deleted paths, so nothing unknown to the batch (an ignored file, a local edit not yet seen)
 * moves along; (2) each of them still has the stat it was observed with, the check a deletion
 * makes before its unlink; (3) the new subtree is, path for path, the old one's content, and
 * nothing is at the new name; (4) the file system keeps names exactly (no folding), so the
 * rename cannot land on another spelling. Otherwise the batch is written path by path as before.
 */
import { type Dirent, lstatSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { EntryContent } from '../core/entry.ts';
import { type Folding, foldsNames } from '../core/folding.ts';
import { parentPath } from '../core/paths.ts';
import type { ApplyItem, ItemOutcome } from './applier.ts';
import { stampOf } from './apply.ts';
import { sameStat } from './local-tree.ts';
import { checkAncestors } from './tree-fs.ts';

export interface FolderMove {
  from: string;
  to: string;
  /** The batch's deletions under `from` and `from` itself. */
  deletes: ApplyItem[];
  /** The batch's writes under `to` and `to` itself. */
  writes: ApplyItem[];
}

/** A description of content for matching: equal strings, same content on disk. */
function identity(content: EntryContent): string {
  switch (content.kind) {
    case 'file':
      return `f${content.exec ? 'x' : ''}:${content.hash}`;
    case 'dir':
      return 'd';
    case 'symlink':
      return `l:${content.target}`;
    case 'deleted':
      return '-';
  }
}

/** Items at `folder` or below it, by path relative to it ('' for the folder itself). */
function subtree(items: readonly ApplyItem[], folder: string): Map<string, ApplyItem> {
  const out = new Map<string, ApplyItem>();
  const prefix = `${folder}/`;
  for (const item of items) {
    const path = item.entry.path;
    if (path === folder) out.set('', item);
    else if (path.startsWith(prefix)) out.set(path.slice(prefix.length), item);
  }
  return out;
}

function signature(
  items: ReadonlyMap<string, ApplyItem>,
  contentOf: (item: ApplyItem) => EntryContent,
): string {
  return [...items]
    .map(([rel, item]) => `${rel}\0${identity(contentOf(item))}`)
    .sort()
    .join('\n');
}

/**
 * The folder moves in a batch (see the file's comment): pairs of a deleted local folder and a
 * new folder whose subtrees match, outermost folders only.
 */
export function findFolderMoves(
  writes: readonly ApplyItem[],
  deletes: readonly ApplyItem[],
  folding: Folding,
): FolderMove[] {
  if (foldsNames(folding) || folding.normalisesNames) return [];
  const deletedDirs = new Set(
    deletes.filter((d) => d.obs.content.kind === 'dir' && !d.obs.unknown).map((d) => d.entry.path),
  );
  const newDirs = new Set(
    writes
      .filter((w) => w.entry.content.kind === 'dir' && w.obs.content.kind === 'deleted' && !w.obs.unknown)
      .map((w) => w.entry.path),
  );
  if (deletedDirs.size === 0 || newDirs.size === 0) return [];
  const outermost = (dirs: Set<string>) => [...dirs].filter((d) => !dirs.has(parentPath(d)));
  const bySignature = new Map<string, string>();
  for (const from of outermost(deletedDirs)) {
    const items = subtree(deletes, from);
    if ([...items.values()].some((d) => d.obs.unknown)) continue;
    bySignature.set(
      signature(items, (d) => d.obs.content),
      from,
    );
  }
  const moves: FolderMove[] = [];
  for (const to of outermost(newDirs)) {
    const items = subtree(writes, to);
    if ([...items.values()].some((w) => w.obs.content.kind !== 'deleted' || w.obs.unknown)) continue;
    const key = signature(items, (w) => w.entry.content);
    const from = bySignature.get(key);
    if (from === undefined) continue;
    bySignature.delete(key);
    moves.push({ from, to, deletes: [...subtree(deletes, from).values()], writes: [...items.values()] });
  }
  return moves;
}

/** Every path below `root`'s folder `folder`, relative to it (folders too), without following links. */
function listBelow(root: string, folder: string): string[] {
  const absolute = join(root, folder);
  return (readdirSync(absolute, { recursive: true, withFileTypes: true }) as Dirent[]).map((d) =>
    join(d.parentPath, d.name).slice(absolute.length + 1),
  );
}

/**
 * Does one move when the disk allows it (see the file's comment), settling every item of it, and
 * returns the absolute paths to flush (Durability.flush flushes each and its folder); returns undefined, having touched nothing, when the move
 * must be written path by path instead.
 */
export function applyFolderMove(
  root: string,
  move: FolderMove,
  settle: (item: ApplyItem, outcome: ItemOutcome) => void,
): string[] | undefined {
  const prefix = `${move.from}/`;
  const expected = new Set(move.deletes.map((d) => d.entry.path).filter((p) => p !== move.from));
  let listed: string[];
  try {
    listed = listBelow(root, move.from);
  } catch {
    return undefined;
  }
  if (listed.length !== expected.size || listed.some((rel) => !expected.has(`${prefix}${rel}`)))
    return undefined;
  for (const item of move.deletes) {
    const stat = item.obs.stat;
    if (item.obs.content.kind === 'dir') continue;
    try {
      if (!stat || !sameStat(stampOf(lstatSync(join(root, item.entry.path))), stat)) return undefined;
    } catch {
      return undefined;
    }
  }
  if (!checkAncestors(root, move.to).ok) return undefined;
  try {
    lstatSync(join(root, move.to));
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
  }
  try {
    renameSync(join(root, move.from), join(root, move.to));
  } catch {
    return undefined;
  }
  const observedAt = new Map(move.deletes.map((d) => [d.entry.path.slice(move.from.length), d.obs.stat]));
  for (const item of move.deletes) settle(item, { ok: true });
  for (const item of move.writes) {
    // A file edited between the check and the rename keeps its bytes but gets no stat, so its
    // next observation reads it and pushes the edit instead of taking it for the moved version.
    let stat: ReturnType<typeof stampOf> | undefined;
    try {
      stat = stampOf(lstatSync(join(root, item.entry.path)));
    } catch {
      stat = undefined;
    }
    const before = observedAt.get(item.entry.path.slice(move.to.length));
    const file = item.entry.content.kind === 'file';
    settle(item, {
      ok: true,
      stat: file && (!before || !stat || !sameStat(before, stat)) ? undefined : stat,
    });
  }
  // Flushed with their folders: the new folder's entry in its parent, the old one's removal.
  return [join(root, move.to), join(root, parentPath(move.from))];
}
