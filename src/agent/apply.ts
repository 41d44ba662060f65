/**
 * Writing remote versions to the local folder, safely:
 * - atomically: a temporary file in the same folder, then rename, so a reader sees the old or the
 *   new version and a crash leaves one of them, never a mix;
 * - never through a symbolic link: every folder on the way is lstat-ed and must be a real folder
 *   inside the root, so a link planted in the tree cannot redirect a write outside it;
 * - never over an edit: just before the rename the target is stat-ed again and must still be the
 *   version the agent last saw, else the write is abandoned and the edit is pushed instead;
 * - never to another name's entry: where the file system folds names (macOS, Windows), a path is
 *   acted on only when its exact spelling is listed (see spelling.ts), and a case-only rename is
 *   applied as one rename (see respell.ts).
 */
// Synchronous calls on purpose: for the many small files of a checkout or an initial sync they are
// several times faster than the thread-pool round trips of the promise API, and one call at a time
// can never run out of descriptors.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { type EntryContent, sameContent } from '../core/entry.ts';
import { EXACT_NAMES, foldsNames } from '../core/folding.ts';
import { fileModeFor } from '../core/mode.ts';
import { ancestorPaths } from '../core/paths.ts';
import { sameStat, statProvesOwnWrite } from './local-tree.ts';
import { renameNoReplace } from './rename-no-replace.ts';
import { type RespellSource, respell } from './respell.ts';
import { type Lookup, Spellings } from './spelling.ts';
import type { StatStamp } from './state.ts';
import { nextTempName } from './temp-files.ts';

export type ApplyOutcome =
  /** `statProves`: see BaseRecord; set by `finishWrite` for a file whose stat proves it. */
  | { ok: true; stat?: StatStamp; statProves?: boolean }
  /** Not applied; `retry` says whether trying later may succeed. */
  | {
      ok: false;
      code:
        | 'local-changed'
        | 'symlink-in-path'
        | 'not-a-folder'
        | 'folder-not-empty'
        | 'case-clash'
        | 'io-error';
      message: string;
      retry: boolean;
    };

/** A non-empty folder stands where a file or link should go; it may empty later, so retry. */
const FOLDER_IN_THE_WAY: ApplyOutcome = {
  ok: false,
  code: 'folder-not-empty',
  message: 'a non-empty folder is in the way',
  retry: true,
};

/** What the agent believes is on disk at the path (its base's stat), or undefined for "nothing". */
export type Expected = StatStamp | undefined;

/**
 * Folders already checked (real folders, no links) during one batch. A batch of thousands of
 * files in a few folders then checks each folder once instead of once per file.
 */
export type CheckedFolders = Set<string>;

/**
 * A file or link written to its temporary name, waiting for its rename. Between the two steps the
 * caller makes the temporary files durable (one flush for a whole slice), so a rename never makes
 * visible bytes that a power loss could still tear.
 */
export interface StagedWrite {
  path: string;
  absolute: string;
  temp: string;
  /** What the agent believes is at the path (undefined: nothing). */
  expected: Expected;
  /**
   * The file's bytes, still to be written under `temp` by `writeStaged` (see `deferWrite` of
   * `stageContent`); absent once they are there.
   */
  pending?: { bytes: Uint8Array; mode: number; exactMode: boolean };
  /** The temporary file's stat once its bytes were in (a file; a link has none). */
  written?: StatStamp;
}

export type StageOutcome = ApplyOutcome | { ok: 'staged'; staged: StagedWrite };

/**
 * First step of applying a remote version: folders and deletions are done at once; a file or a
 * link is written to a temporary name beside its path and returned as staged, to be finished by
 * `finishWrite` after the caller has made it durable.
 *
 * `spellings` is the batch's exact-spelling check; `respelled`, the old spelling of `path` that
 * the same batch deletes, when the file system takes both for one name (a case-only rename): the
 * stored entry is then renamed to `path` first, and a changed content is staged over it like any
 * edit of it.
 */
export function stageContent(
  root: string,
  path: string,
  content: EntryContent,
  expectedIn: Expected,
  bytes: Uint8Array | undefined,
  checked: CheckedFolders = new Set(),
  spellings: Spellings = new Spellings(root, EXACT_NAMES),
  respelled?: RespellSource,
  deferWrite = false,
): StageOutcome {
  let expected = expectedIn;
  try {
    const parents = ensureParents(root, path, content.kind !== 'deleted', checked, spellings);
    if (parents) return parents;
    const absolute = join(root, path);
    if (respelled) {
      const moved = respell(root, path, respelled, spellings);
      // Renamed in place: the remote version is there when the content is the same.
      if (moved && sameContent(respelled.content, content)) return { ok: true, stat: stampOf(moved) };
      if (moved) expected = stampOf(moved);
    }
    if (content.kind === 'file' && deferWrite && lookedAtByRename(expected, respelled, spellings)) {
      if (!bytes) throw new Error(`stageContent needs the bytes of ${path}`);
      const mode = fileModeFor(content.exec, content.mode, undefined);
      const pending = { bytes, mode, exactMode: false };
      return { ok: 'staged', staged: { path, absolute, temp: tempPath(root, path), expected, pending } };
    }
    const found = spellings.lookup(path);
    if (found?.spelling === 'other') return otherSpelling(path, found, content.kind === 'deleted');
    const current = found?.stats;
    if (current && !current.isDirectory() && expected && !sameStat(stampOf(current), expected)) {
      return { ok: false, code: 'local-changed', message: 'the file changed locally', retry: false };
    }
    if (current && !expected && !current.isDirectory() && content.kind !== 'deleted') {
      return {
        ok: false,
        code: 'local-changed',
        message: 'a local file appeared at this path',
        retry: false,
      };
    }
    switch (content.kind) {
      case 'deleted': {
        if (!current) return { ok: true };
        if (current.isDirectory()) {
          try {
            rmdirSync(absolute);
          } catch {
            return { ok: false, code: 'folder-not-empty', message: 'folder is not empty', retry: false };
          }
          spellings.removed(path);
          return { ok: true };
        }
        unlinkSync(absolute);
        spellings.removed(path);
        return { ok: true };
      }
      case 'dir': {
        if (current?.isDirectory()) return { ok: true, stat: stampOf(current) };
        if (current) unlinkSync(absolute);
        mkdirSync(absolute);
        spellings.added(path);
        return { ok: true, stat: stampOf(lstatSync(absolute)) };
      }
      case 'symlink': {
        if (current?.isDirectory() && !removeEmptyFolder(absolute)) return FOLDER_IN_THE_WAY;
        const temp = tempPath(root, path);
        symlinkSync(content.target, temp);
        return { ok: 'staged', staged: { path, absolute, temp, expected } };
      }
      case 'file': {
        if (!bytes) throw new Error(`stageContent needs the bytes of ${path}`);
        if (current?.isDirectory() && !removeEmptyFolder(absolute)) return FOLDER_IN_THE_WAY;
        const existing = current && !current.isDirectory() ? current.mode : undefined;
        const temp = tempPath(root, path);
        const mode = fileModeFor(content.exec, content.mode, existing);
        // An existing file keeps its exact bits, which the umask must not narrow.
        const pending = { bytes, mode, exactMode: existing !== undefined };
        const staged = { path, absolute, temp, expected, pending };
        if (deferWrite) return { ok: 'staged', staged };
        writeStagedSync(staged);
        return { ok: 'staged', staged };
      }
    }
  } catch (error) {
    return { ok: false, code: 'io-error', message: (error as Error).message, retry: true };
  }
}

/**
 * Whether a new file written in the thread pool needs no look at its path before it is staged:
 * nothing is expected there, names are compared exactly, and `finishWrite` will rename it with
 * RENAME_NOREPLACE, which finds whatever is at the path by then (a file, a link, a folder) and
 * hands it to the same checks a look here would have made. In a first sync that look, an lstat
 * of a name not there yet in a folder the thread pool is filling, was a quarter of the mirror's
 * samples.
 */
function lookedAtByRename(
  expected: Expected,
  respelled: RespellSource | undefined,
  spellings: Spellings,
): boolean {
  return !expected && !respelled && !foldsNames(spellings.folding) && renameNoReplace() !== undefined;
}

function writeStagedSync(staged: StagedWrite): void {
  const pending = staged.pending;
  if (!pending) return;
  writeFileSync(staged.temp, pending.bytes, { mode: pending.mode });
  if (pending.exactMode) chmodSync(staged.temp, pending.mode);
  // Taken now rather than before the rename: nothing writes the temporary file in between.
  staged.written = stampOf(lstatSync(staged.temp));
  staged.pending = undefined;
}

/**
 * Writes a staged file's bytes under its temporary name off the main thread (the file system's
 * work for a new file, not the JavaScript around it, is most of a first sync's time), so that
 * many files are created side by side. A failure removes the temporary file.
 */
export async function writeStaged(staged: StagedWrite): Promise<ApplyOutcome | undefined> {
  const pending = staged.pending;
  if (!pending) return undefined;
  try {
    const handle = await open(staged.temp, 'wx', pending.mode);
    try {
      await handle.writeFile(pending.bytes);
      if (pending.exactMode) await handle.chmod(pending.mode);
      // Taken here, in the thread pool, rather than by an lstat on the main thread before the rename.
      staged.written = stampOf(await handle.stat());
    } finally {
      await handle.close();
    }
    staged.pending = undefined;
    return undefined;
  } catch (error) {
    // A name already taken is another writer's file, never this one's to remove.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') tryUnlink(staged.temp);
    return { ok: false, code: 'io-error', message: (error as Error).message, retry: true };
  }
}

/**
 * Second step: the last check (an editor may have saved since the first one), then the rename
 * that makes the staged version visible. The temporary file is removed when it is not used.
 *
 * A plain lstat is enough here where names fold: `stageContent` already refused a path held under
 * another spelling, and an entry of any spelling that appears since then is found by this lstat
 * and refused as a local change, never renamed over.
 */
export function finishWrite(staged: StagedWrite): ApplyOutcome {
  try {
    // Nothing expected at the path: a rename that refuses to replace needs no look before it.
    if (!staged.expected && staged.written) {
      const renamed = renameNoReplace()?.(staged.temp, staged.absolute) ?? 'unsupported';
      if (renamed === 'renamed') return renamedInto(staged.absolute, staged.written);
    }
    const again = lstatOrUndefined(staged.absolute);
    if (again?.isDirectory()) {
      // A folder appeared meanwhile (or an empty one was in the way and is still there).
      if (!removeEmptyFolder(staged.absolute)) {
        tryUnlink(staged.temp);
        return FOLDER_IN_THE_WAY;
      }
    } else if (again && (!staged.expected || !sameStat(stampOf(again), staged.expected))) {
      tryUnlink(staged.temp);
      return staged.expected
        ? { ok: false, code: 'local-changed', message: 'the file changed locally', retry: false }
        : { ok: false, code: 'local-changed', message: 'a local file appeared at this path', retry: false };
    }
    // The written file's own stat, to tell the stat taken after the rename is still of these bytes.
    const written = staged.written ?? stampOf(lstatSync(staged.temp));
    renameSync(staged.temp, staged.absolute);
    return renamedInto(staged.absolute, written);
  } catch (error) {
    tryUnlink(staged.temp);
    return { ok: false, code: 'io-error', message: (error as Error).message, retry: true };
  }
}

/** A written file just renamed into place: its stat, and whether it proves the written bytes. */
function renamedInto(absolute: string, written: StatStamp): ApplyOutcome {
  const stat = stampOf(lstatSync(absolute));
  return { ok: true, stat, statProves: statProvesOwnWrite(written, stat) };
}

/**
 * The file system opens another name's entry for `path` (it differs only by letter case or
 * normalisation). A deletion is done: nothing is stored under this name. Anything else would
 * overwrite or remove that other entry, so it is refused and reported, as the hub refuses such
 * a second name, and tried again later.
 */
function otherSpelling(
  path: string,
  found: Extract<Lookup, { spelling: 'other' }>,
  deleting: boolean,
): ApplyOutcome {
  if (deleting) return { ok: true };
  return {
    ok: false,
    code: 'case-clash',
    message: `'${found.stored}' is on disk, and this file system takes '${path}' for the same name`,
    // That entry may yet go (a local file deleted, a deletion applied later), freeing the name.
    retry: true,
  };
}

/** Creates missing parent folders; refuses when any ancestor is a link or a file. */
function ensureParents(
  root: string,
  path: string,
  create: boolean,
  checked: CheckedFolders,
  spellings: Spellings,
): ApplyOutcome | undefined {
  for (const folder of ancestorPaths(path)) {
    if (checked.has(folder)) continue;
    const absolute = join(root, folder);
    const found = spellings.lookup(folder);
    if (found?.spelling === 'other') {
      // The path is not on disk as spelled: nothing to delete (the lookup of the path says so).
      if (!create) return undefined;
      return otherSpelling(folder, found, false);
    }
    const stats = found?.stats;
    if (!stats) {
      if (!create) return undefined;
      try {
        mkdirSync(absolute);
      } catch (error) {
        // Another write of the same batch made it first.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        continue;
      }
      spellings.added(folder);
      checked.add(folder);
      continue;
    }
    if (stats.isSymbolicLink()) {
      return {
        ok: false,
        code: 'symlink-in-path',
        message: `'${folder}' is a symbolic link; nothing is written through it`,
        retry: true,
      };
    }
    if (!stats.isDirectory())
      return { ok: false, code: 'not-a-folder', message: `'${folder}' is not a folder`, retry: true };
    checked.add(folder);
  }
  return undefined;
}

function removeEmptyFolder(absolute: string): boolean {
  try {
    rmdirSync(absolute);
    return true;
  } catch {
    return false;
  }
}

function tempPath(root: string, path: string): string {
  const slash = path.lastIndexOf('/');
  const folder = slash < 0 ? '' : path.slice(0, slash);
  return join(root, folder, nextTempName());
}

function lstatOrUndefined(absolute: string) {
  try {
    return lstatSync(absolute, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function tryUnlink(absolute: string): void {
  try {
    unlinkSync(absolute);
  } catch {
    // Already gone.
  }
}

export function stampOf(stats: import('node:fs').Stats): StatStamp {
  return {
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
    ino: stats.ino,
    mode: stats.mode,
  };
}
