/**
 * The agent's view of its folder: walking it under the ignore rules, and observing one path.
 * Everything here uses lstat/readlink: a symbolic link is recorded as a link and never followed.
 */
// Synchronous calls on purpose (see apply.ts): small files dominate, and the thread-pool round
// trips of the promise API cost more than the reads themselves.
import { type Dirent, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { type ChunkRef, chunkBytes } from '../core/chunk.ts';
import { DELETED, type EntryContent, exists } from '../core/entry.ts';
import { EXACT_NAMES, type Folding } from '../core/folding.ts';
import { fileHashFromChunks } from '../core/hash.ts';
import { IGNORE_FILE_NAMES, type IgnoreOptions, IgnoreRules } from '../core/ignore.ts';
import { checkRelativePath, TEMP_FILE_PREFIX } from '../core/paths.ts';
import type { Problem } from '../core/protocol.ts';
import { stampOf } from './apply.ts';
import type { Limiter } from './limiter.ts';
import { type Lookup, Spellings } from './spelling.ts';
import type { BaseRecord, StatStamp } from './state.ts';
import { TempSweeper } from './temp-files.ts';
import {
  checkAncestors,
  type FileDescribed,
  type FileRead,
  type FolderVerdicts,
  isAbsent,
  NotARegularFile,
  readOrDescribeFile,
  readRegularFile,
} from './tree-fs.ts';

export interface Observation {
  content: EntryContent;
  stat?: StatStamp;
  /** The file's bytes, when they were read for this observation (needed to upload chunks). */
  bytes?: Uint8Array;
  /**
   * The file changed while it was being read (its stat after the read differs from before):
   * a writer is still at work, and what was read may be a torn mix.
   */
  unsettled?: boolean;
  /**
   * The path could not be looked at (permissions, I/O errors): why. Its state is unknown, which is
   * never a deletion; `content` is then meaningless and the cycle leaves the path alone.
   */
  unknown?: string;
}

/**
 * What one batch of observations shares, so that each folder is looked at once per batch: the
 * verdicts on ancestors (real folders, no links) and the folder listings of the spelling check.
 */
export interface ObserveBatch {
  verdicts: FolderVerdicts;
  spellings: Spellings;
}

/** File bytes a scan keeps in memory for the uploads that follow it. */
const SCAN_BYTES_BUDGET = 64 * 1024 * 1024;

/** A stat taken within this window of the file's mtime cannot prove the content unchanged. */
const RACY_WINDOW_MS = 2000;
/** The same, for filesystems with sub-second timestamps (ext4, xfs, btrfs, tmpfs, apfs). */
const FINE_RACY_WINDOW_MS = 100;

export interface LocalTreeOptions {
  ignore: IgnoreOptions;
  allowGit: boolean;
  /** Paths git tracks; never ignored. */
  tracked: ReadonlySet<string>;
  /** Text of git's exclude files, lowest precedence first (see IgnoreRules.setRepoExcludes). */
  repoExcludes?: readonly string[];
  /** Files of this many bytes or more are chunked while streamed, never held whole (STREAMED_FILE_BYTES). */
  streamFrom?: number;
  log?: (line: string) => void;
}

/**
 * Files from this size on are streamed: hashed piece by piece when observed, uploaded and written
 * chunk by chunk, so memory stays bounded whatever a file's size (a 5 GiB disk image syncs too).
 */
export const STREAMED_FILE_BYTES = 64 * 1024 * 1024;

/** What one walk shares across its folders. */
interface WalkContext {
  rules: IgnoreRules;
  walked: ObserveBatch;
  baseOf: (path: string) => BaseRecord | undefined;
  found: Map<string, Observation>;
  unknownFolders: Set<string>;
  tempFiles: string[];
  /** File bytes kept so far (SCAN_BYTES_BUDGET). */
  keptBytes: number;
  movedFrom?: MovedBases;
  /** Paths observed already in this cycle: taken as they were, not observed again. */
  observed?: ReadonlyMap<string, Observation>;
}

/**
 * The bases of files that left their paths in this cycle (a folder moved away), by inode: a new
 * path with exactly one's stat is that file moved, its content known without reading it. A rename
 * changes neither a file's inode nor its mtime or ctime, and any write changes its ctime.
 */
export type MovedBases = ReadonlyMap<number, readonly BaseRecord[]>;

export class LocalTree {
  rules: IgnoreRules;
  readonly problems = new Map<string, Problem>();
  /** How the file system under the root compares names (probed by the agent at start). */
  folding: Folding = EXACT_NAMES;
  /** Clears the temporary files of agents killed mid-write, as the scans come across them. */
  private readonly temps: TempSweeper;

  constructor(
    readonly root: string,
    private readonly limiter: Limiter,
    private options: LocalTreeOptions,
  ) {
    this.rules = new IgnoreRules(new Map(), options.tracked, options.ignore, options.repoExcludes);
    this.temps = new TempSweeper(root, options.log);
  }

  /**
   * Replaces what git says about the tree: the paths it tracks and the text of its exclude files.
   * The rules of the ignore files read by the last scan are kept, so single paths are still
   * judged by them until the next scan reads them again.
   */
  setGitView(tracked: ReadonlySet<string>, repoExcludes: readonly string[]): void {
    this.options = { ...this.options, tracked, repoExcludes };
    this.rules.setTracked(tracked);
    this.rules.setRepoExcludes(repoExcludes);
  }

  /** A fresh exact-spelling check, for one batch of observations or writes. */
  spellings(): Spellings {
    return new Spellings(this.root, this.folding);
  }

  /** Fresh shared state for one batch of observations. */
  batch(): ObserveBatch {
    return { verdicts: new Map(), spellings: this.spellings() };
  }

  /**
   * Walks the whole tree. Files whose stat matches their base (and is not racy) reuse the base
   * content without being read; the rest are read and hashed.
   *
   * `unknownFolders` lists the folders that could not be listed: what lies below them is unknown,
   * not deleted, so the caller must not take their absence from `found` as a deletion.
   */
  async scan(
    baseOf: (path: string) => BaseRecord | undefined,
  ): Promise<{ found: Map<string, Observation>; unknownFolders: Set<string> }> {
    const found = new Map<string, Observation>();
    const unknownFolders = new Set<string>();
    /**
     * Ancestor checks shared by the whole walk: each folder is lstat-ed once. Every name observed
     * comes from the listing just read, so the spelling check lists no folder again.
     */
    const walked = this.batch();
    const rules = new IgnoreRules(
      new Map(),
      this.options.tracked,
      this.options.ignore,
      this.options.repoExcludes,
    );
    const tempFiles: string[] = [];
    await this.walk('', { rules, walked, baseOf, found, unknownFolders, tempFiles, keptBytes: 0 });
    this.temps.sweep(tempFiles);
    this.rules = rules;
    return { found, unknownFolders };
  }

  /**
   * Walks the folder `folder` (not the whole tree) under the current rules, as `scan` does: for a
   * folder that just appeared (made, copied or moved in), whose contents may all have arrived
   * before the watcher watched it. Ignore files found in it join the current rules. Ancestors
   * are checked through `batch`; `unknownFolders` as in `scan`. `movedFrom` as in `observe`;
   * paths in `observed` (named by the watcher in the same cycle) are taken as they were seen.
   */
  async scanFolder(
    folder: string,
    baseOf: (path: string) => BaseRecord | undefined,
    batch: ObserveBatch,
    movedFrom?: MovedBases,
    observed?: ReadonlyMap<string, Observation>,
  ): Promise<{ found: Map<string, Observation>; unknownFolders: Set<string> }> {
    const found = new Map<string, Observation>();
    const unknownFolders = new Set<string>();
    const tempFiles: string[] = [];
    const context = {
      rules: this.rules,
      walked: batch,
      baseOf,
      found,
      unknownFolders,
      tempFiles,
      keptBytes: 0,
      movedFrom,
      observed,
    };
    await this.walk(folder, context);
    this.temps.sweep(tempFiles);
    return { found, unknownFolders };
  }

  /** One folder of a walk and, recursively, its subfolders (see `scan`). */
  private async walk(folder: string, walk: WalkContext): Promise<void> {
    const { rules, walked, baseOf, found, unknownFolders, tempFiles } = walk;
    const absolute = folder === '' ? this.root : join(this.root, folder);
    let names: Dirent[];
    try {
      names = readdirSync(absolute, { withFileTypes: true });
    } catch (error) {
      // Gone since its parent was listed: simply absent. Anything else: unknown, never deleted.
      if (isAbsent(error)) {
        found.delete(folder);
        return;
      }
      unknownFolders.add(folder);
      this.report(folder, 'unreadable', `cannot list folder: ${(error as Error).message}`);
      return;
    }
    if (this.problems.get(folder)?.code === 'unreadable') this.problems.delete(folder);
    walked.spellings.seed(
      folder,
      names.map((d) => d.name),
    );
    const ruleText: string[] = [];
    for (const ignoreName of IGNORE_FILE_NAMES) {
      if (!names.some((d) => d.name === ignoreName && d.isFile())) continue;
      try {
        const ruleFile = join(absolute, ignoreName);
        ruleText.push(new TextDecoder().decode(readRegularFile(ruleFile).bytes));
      } catch {
        // An unreadable ignore file is treated as empty; the file itself is reported when observed.
      }
    }
    if (ruleText.length > 0) rules.setFolderRules(folder, ruleText.join('\n'));
    const subfolders: string[] = [];
    await Promise.all(
      names.map(async (dirent) => {
        const path = folder === '' ? dirent.name : `${folder}/${dirent.name}`;
        if (dirent.name.startsWith(TEMP_FILE_PREFIX)) {
          tempFiles.push(path);
          return;
        }
        const isDir = dirent.isDirectory();
        if (rules.isIgnored(path, isDir)) return;
        const check = checkRelativePath(path, { allowGit: this.options.allowGit });
        if (!check.ok) {
          this.report(path, `invalid-path:${check.code}`, check.reason);
          // Not walked, so nothing below it is known gone (a chain past the depth bound may hold
          // versions synced before the bound existed).
          if (isDir) unknownFolders.add(path);
          return;
        }
        if (isDir) {
          found.set(path, { content: { kind: 'dir' } });
          subfolders.push(path);
          return;
        }
        // The walk only descends real folders, so every ancestor here is already checked.
        const observation =
          walk.observed?.get(path) ??
          (await this.observe(path, baseOf(path), 'if-stat-changed', walked, walk.movedFrom));
        if (observation.unknown) {
          found.set(path, observation);
          return;
        }
        if (observation.content.kind === 'deleted') return;
        // Bytes read for hashing are kept (a changed file is then uploaded from exactly what was
        // hashed) up to a budget; past it, a push reads the file again and re-describes it.
        if (observation.bytes && walk.keptBytes + observation.bytes.length <= SCAN_BYTES_BUDGET) {
          walk.keptBytes += observation.bytes.length;
          found.set(path, observation);
        } else found.set(path, { content: observation.content, stat: observation.stat });
      }),
    );
    // One subfolder after another: the file system calls are synchronous, so walking them side
    // by side gained no speed, and it queued every file of the tree at once: on 100,000 files a
    // peak about 100 MB higher, which the allocator then kept.
    for (const sub of subfolders) await this.walk(sub, walk);
  }

  /**
   * Observes one path now. `policy` says when the stat cache stands in for reading the file (see
   * ReadPolicy). `batch` may be shared by a batch of observations.
   *
   * Invariants: only "nothing is there" (ENOENT, or an ancestor that is not a real folder, which
   * puts the path outside the tree) observes as deleted, and so does a path the file system finds
   * only under another spelling (`readme.md` for `README.md` on macOS): that entry is another
   * path's. Any other failure to look (permissions, I/O) observes as `unknown`: the caller leaves
   * the path and its peers' copies alone. Nothing is read through a symbolic link: every ancestor
   * must be a real folder and the leaf is opened without following links. A path without a base
   * whose stat is one of `movedFrom`'s is that file, moved: the stat cache holds for it as well,
   * forced read or not (see `MovedBases`).
   */
  async observe(
    path: string,
    base: BaseRecord | undefined,
    policy: ReadPolicy,
    batch: ObserveBatch = this.batch(),
    movedFrom?: MovedBases,
  ): Promise<Observation> {
    const absolute = join(this.root, path);
    return this.limiter.run(async () => {
      const access = checkAncestors(this.root, path, batch.verdicts);
      if (!access.ok) {
        if (access.code === 'outside') return { content: DELETED };
        return this.unknown(path, `cannot look into '${access.folder}': ${access.message}`);
      }
      let found: Lookup;
      try {
        found = batch.spellings.lookup(path);
      } catch (error) {
        return this.unknown(path, `cannot stat: ${(error as Error).message}`);
      }
      if (found?.spelling !== 'exact') return { content: DELETED };
      const stats: Stats = found.stats;
      const stat = stampOf(stats);
      if (stats.isDirectory()) return this.known(path, { content: { kind: 'dir' }, stat });
      if (stats.isSymbolicLink()) {
        try {
          return this.known(path, { content: { kind: 'symlink', target: readlinkSync(absolute) }, stat });
        } catch (error) {
          if (isAbsent(error)) return { content: DELETED };
          return this.unknown(path, `cannot read link: ${(error as Error).message}`);
        }
      }
      if (!stats.isFile()) {
        this.report(path, 'unsupported-type', 'only regular files, folders and symbolic links sync');
        return { content: DELETED };
      }
      if (
        base?.stat &&
        base.content.kind === 'file' &&
        sameStat(base.stat, stat) &&
        statStandsIn(policy, base)
      ) {
        return { content: base.content, stat };
      }
      // A new path's event, when its stat is a moved base's, is the move itself: nothing to read.
      const moved = base && exists(base.content) ? undefined : movedBase(movedFrom, stat);
      if (moved) return { content: moved.content, stat };
      let read: FileRead | FileDescribed;
      try {
        read = readOrDescribeFile(absolute, this.options.streamFrom ?? STREAMED_FILE_BYTES);
      } catch (error) {
        // Removed between the lstat and the read: it is simply gone.
        if (isAbsent(error)) return { content: DELETED };
        // Replaced by a link or a folder since the lstat: look again in a moment.
        if ((error as NodeJS.ErrnoException).code === 'ELOOP' || error instanceof NotARegularFile)
          return {
            content: base?.content ?? DELETED,
            stat: base?.stat,
            unsettled: true,
            unknown: 'type changed while read',
          };
        return this.unknown(path, `cannot read: ${(error as Error).message}`);
      }
      const bytes = 'bytes' in read ? read.bytes : undefined;
      const length = 'bytes' in read ? read.bytes.length : read.length;
      this.problems.delete(path);
      const exec = (read.stats.mode & 0o111) !== 0;
      const content =
        'bytes' in read
          ? fileContent(read.bytes, exec, read.stats.mode)
          : contentOfRefs(read.refs, exec, read.stats.mode);
      let after: Stats | undefined;
      try {
        after = lstatSync(absolute);
      } catch {
        after = undefined;
      }
      const unsettled =
        !after ||
        after.size !== stats.size ||
        after.mtimeMs !== stats.mtimeMs ||
        after.ino !== stats.ino ||
        read.stats.ino !== stats.ino ||
        length !== stats.size;
      const observed: Observation = bytes ? { content, stat, bytes } : { content, stat };
      return unsettled ? { ...observed, unsettled } : observed;
    });
  }

  /** A path whose state could not be looked at: reported, and left alone by the cycle. */
  private unknown(path: string, message: string): Observation {
    this.report(path, 'unreadable', message);
    return { content: DELETED, unknown: message };
  }

  private known(path: string, observation: Observation): Observation {
    if (this.problems.get(path)?.code === 'unreadable') this.problems.delete(path);
    return observation;
  }

  private report(path: string, code: string, message: string): void {
    this.problems.set(path, { path, code, message });
  }
}

/**
 * The content description of file bytes: chunk list, hash, size, executable bit, and the
 * permission bits a peer gives the file when it creates it (so a 0600 file stays private).
 */
export function fileContent(bytes: Uint8Array, exec: boolean, mode?: number): EntryContent {
  return contentOfRefs(chunkBytes(bytes), exec, mode);
}

/** A file's entry from its chunks (cut and hashed from its bytes, at once or streamed). */
export function contentOfRefs(refs: readonly ChunkRef[], exec: boolean, mode?: number): EntryContent {
  const chunks = refs.map((c): [string, number] => [c.hash, c.size]);
  const hash = fileHashFromChunks(chunks.map(([h]) => h));
  const size = refs.reduce((n, c) => n + c.size, 0);
  const content: EntryContent = { kind: 'file', hash, size, exec, chunks };
  if (mode !== undefined) content.mode = mode & 0o777;
  return content;
}

export function sameStat(a: StatStamp, b: StatStamp): boolean {
  return (
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino &&
    a.mode === b.mode
  );
}

/**
 * When an unchanged stat stands in for reading the file:
 * - `if-stat-changed`: whenever it is settled (not racy); a scan, or a path the hub named.
 * - `unless-proven`: only when it proves the agent's own write (BaseRecord.statProves); a path
 *   the watcher named whose every event since the last cycle was a rename, as the agent's own
 *   write's is.
 * - `always-read`: never; a path the watcher saw changed in place (its content or its times). An
 *   edit that keeps the size and puts the old mtime back, within one tick of a coarse clock
 *   after the rename, leaves the very stat the proof was taken on; only its event tells.
 */
export type ReadPolicy = 'if-stat-changed' | 'unless-proven' | 'always-read';

function statStandsIn(policy: ReadPolicy, base: BaseRecord): boolean {
  if (policy === 'if-stat-changed') return !isRacy(base);
  return policy === 'unless-proven' && base.statProves === true;
}

/**
 * Whether `after`, the stat of a file the agent wrote, taken right after its rename into place,
 * proves the file holds what was written: it is `written` (the stat of the temporary file once
 * its bytes were in, before the rename) as far as content goes, and its mtime predates its ctime
 * (the rename, or the exact mode set on the written file, moved the ctime on). A write stamps
 * the mtime and the ctime with one time, whichever way the clock moved, and `sameStat` compares
 * both: no write since can leave a stat equal to this one. An edit that puts the old mtime back
 * (utimensat) within the tick of a coarse clock can, which is why the proof is used only for a
 * path whose watcher events were renames (see ReadPolicy). Where the write and the rename fall
 * within one tick of the clock, nothing is proven and the file is read as before.
 */
export function statProvesOwnWrite(written: StatStamp, after: StatStamp): boolean {
  return (
    after.ino === written.ino &&
    after.size === written.size &&
    after.mtimeMs === written.mtimeMs &&
    after.mode === written.mode &&
    after.mtimeMs < after.ctimeMs
  );
}

/** The base in `movedFrom` that `stat` proves unchanged, if one is. */
function movedBase(movedFrom: MovedBases | undefined, stat: StatStamp): BaseRecord | undefined {
  for (const base of movedFrom?.get(stat.ino) ?? [])
    if (base.content.kind === 'file' && base.stat && sameStat(base.stat, stat) && !isRacy(base)) return base;
  return undefined;
}

/**
 * Git's "racily clean" rule: a stat taken too soon after a change may hide a same-size edit made
 * within the timestamp granularity. Linux stamps files from a coarse clock (a few ms); filesystems
 * with whole-second stamps need the full window.
 *
 * The agent's own write is settled at once when its mtime is before its ctime (the rename moved
 * the ctime on): a write since stamps both with one time, so no plain write leaves that stat as it
 * is. Where they are equal (the write and the rename within one tick of a coarse clock), a
 * same-size write in that tick would, and the rule applies as to any stat: a scan that finds the
 * stat unchanged (its event lost, or the agent restarted) reads the file once.
 */
function isRacy(base: BaseRecord): boolean {
  if (base.ownWrite && base.stat && base.stat.mtimeMs < base.stat.ctimeMs) return false;
  if (!base.stat || base.statAt === undefined) return true;
  const changed = Math.max(base.stat.mtimeMs, base.stat.ctimeMs);
  const coarse = Number.isInteger(base.stat.mtimeMs / 1000);
  return base.statAt - changed < (coarse ? RACY_WINDOW_MS : FINE_RACY_WINDOW_MS);
}
