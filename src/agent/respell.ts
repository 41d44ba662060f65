/**
 * Case-only renames on a file system that folds names. The hub carries `readme.md` ->
 * `README.md` as the deletion of one path and the creation of the other; on macOS or Windows both
 * names open the same entry, so writing the new one and then deleting the old one would leave
 * nothing. Instead the stored entry is renamed to the new spelling, in one `rename`, and the
 * deletion then finds no entry spelled as the old name and removes nothing.
 */
import { lstatSync, renameSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { EntryContent, ManifestEntry } from '../core/entry.ts';
import { type Folding, pairRespellings } from '../core/folding.ts';
import { parentPath } from '../core/paths.ts';
import { type Observation, sameStat } from './local-tree.ts';
import type { Spellings } from './spelling.ts';

/** The old spelling of a respelled path, as the agent observed it before the batch. */
export interface RespellSource {
  path: string;
  content: EntryContent;
  stat: Observation['stat'];
}

/**
 * The respellings of a batch: for each path written, the old spelling deleted in the same batch,
 * if any, with what the disk held there.
 */
export function respellingsOf(
  writes: ReadonlyArray<{ entry: ManifestEntry }>,
  deletes: ReadonlyArray<{ entry: ManifestEntry; obs: Observation }>,
  folding: Folding,
): Map<string, RespellSource> {
  const pairs = pairRespellings(
    writes.map((w) => w.entry.path),
    deletes.map((d) => d.entry.path),
    folding,
  );
  const out = new Map<string, RespellSource>();
  if (pairs.size === 0) return out;
  const byPath = new Map(deletes.map((d) => [d.entry.path, d.obs]));
  for (const [to, from] of pairs) {
    const obs = byPath.get(from);
    if (obs) out.set(to, { path: from, content: obs.content, stat: obs.stat });
  }
  return out;
}

/**
 * Gives the entry stored under `from` the spelling `to`, when both name one entry on disk.
 * Returns its stats under the new spelling, or undefined when nothing was moved (the caller then
 * applies `to` as usual, and the exact-spelling check keeps it off the old entry).
 *
 * Invariants: moves only an entry that is still what the agent observed under `from` (a file's
 * stat unchanged, so a local edit is never carried off under another name), and only within its
 * folder as spelled in `to` (a folder that still has its old spelling is respelled first: the
 * batch goes shallow first). Also answers for an entry whose folder was respelled earlier in the
 * batch, which already sits under `to`.
 */
export function respell(
  root: string,
  to: string,
  from: RespellSource,
  spellings: Spellings,
): Stats | undefined {
  const source = spellings.lookup(from.path);
  const target = spellings.lookup(to);
  if (!source || !target) return undefined;
  const stored = source.spelling === 'exact' ? from.path : source.stored;
  const storedTarget = target.spelling === 'exact' ? to : target.stored;
  // Two different entries: `to` opens someone else's file, not the one being renamed.
  if (stored !== storedTarget) return undefined;
  if (parentPath(stored) !== parentPath(to)) return undefined;
  if (from.content.kind === 'dir' ? !source.stats.isDirectory() : !unchanged(source.stats, from))
    return undefined;
  if (stored === to) return source.stats;
  renameSync(join(root, stored), join(root, to));
  spellings.removed(stored);
  spellings.added(to);
  return lstatSync(join(root, to));
}

function unchanged(stats: Stats, from: RespellSource): boolean {
  if (!from.stat) return false;
  return sameStat(
    { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino, mode: stats.mode },
    from.stat,
  );
}
