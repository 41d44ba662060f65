/**
 * The agent's view of its folder: walking it under the ignore rules, and observing one path.
 * Everything here uses lstat/readlink: a symbolic link is recorded as a link and never followed.
 */
// Synchronous calls on purpose (see apply.ts): small files dominate, and the thread-pool round
// trips of the promise API cost more than the reads themselves.
import { type Dirent, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { chunkBytes } from '../core/chunk.ts';
import { DELETED, type EntryContent } from '../core/entry.ts';
import { EXACT_NAMES, type Folding } from '../core/folding.ts';
import { fileHashFromChunks } from '../core/hash.ts';
import { IGNORE_FILE_NAMES, type IgnoreOptions, IgnoreRules } from '../core/ignore.ts';
import { checkRelativePath, TEMP_FILE_PREFIX } from '../core/paths.ts';
import type { Problem } from '../core/protocol.ts';
import type { Limiter } from './limiter.ts';
import { Spellings } from './spelling.ts';
import type { BaseRecord, StatStamp } from './state.ts';

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
}

export class LocalTree {
  rules: IgnoreRules;
  readonly problems = new Map<string, Problem>();
  /** How the file system under the root compares names (probed by the agent at start). */
  folding: Folding = EXACT_NAMES;

  constructor(
    readonly root: string,
    private readonly limiter: Limiter,
    private options: LocalTreeOptions,
  ) {
    this.rules = new IgnoreRules(new Map(), options.tracked, options.ignore);
  }

  /** Replaces the set of paths git tracks (read again before each full reconcile). */
  setTracked(tracked: ReadonlySet<string>): void {
    this.options = { ...this.options, tracked };
    this.rules = new IgnoreRules(new Map(), tracked, this.options.ignore);
  }

  /** A fresh exact-spelling check, for one batch of observations or writes. */
  spellings(): Spellings {
    return new Spellings(this.root, this.folding);
  }

  /**
   * Walks the whole tree. Files whose stat matches their base (and is not racy) reuse the base
   * content without being read; the rest are read and hashed.
   */
  async scan(baseOf: (path: string) => BaseRecord | undefined): Promise<Map<string, Observation>> {
    const found = new Map<string, Observation>();
    const rules = new IgnoreRules(new Map(), this.options.tracked, this.options.ignore);
    // Every name observed comes from the listing just read, so the spelling check reads no more.
    const spellings = this.spellings();
    let keptBytes = 0;
    const walk = async (folder: string): Promise<void> => {
      const absolute = folder === '' ? this.root : join(this.root, folder);
      let names: Dirent[];
      try {
        names = readdirSync(absolute, { withFileTypes: true });
      } catch (error) {
        this.report(folder, 'unreadable', `cannot list folder: ${(error as Error).message}`);
        return;
      }
      spellings.seed(
        folder,
        names.map((d) => d.name),
      );
      const ruleText: string[] = [];
      for (const ignoreName of IGNORE_FILE_NAMES) {
        if (!names.some((d) => d.name === ignoreName && d.isFile())) continue;
        try {
          ruleText.push(readFileSync(join(absolute, ignoreName), 'utf8'));
        } catch {
          // An unreadable ignore file is treated as empty; the file itself is reported when observed.
        }
      }
      if (ruleText.length > 0) rules.setFolderRules(folder, ruleText.join('\n'));
      const subfolders: string[] = [];
      await Promise.all(
        names.map(async (dirent) => {
          const path = folder === '' ? dirent.name : `${folder}/${dirent.name}`;
          if (dirent.name.startsWith(TEMP_FILE_PREFIX)) return;
          const isDir = dirent.isDirectory();
          if (rules.isIgnored(path, isDir)) return;
          const check = checkRelativePath(path, { allowGit: this.options.allowGit });
          if (!check.ok) {
            this.report(path, `invalid-path:${check.code}`, check.reason);
            return;
          }
          if (isDir) {
            found.set(path, { content: { kind: 'dir' } });
            subfolders.push(path);
            return;
          }
          const observation = await this.observe(path, baseOf(path), false, spellings);
          if (observation.content.kind === 'deleted') return;
          // Bytes read for hashing are kept (a changed file is then uploaded from exactly what was
          // hashed) up to a budget; past it, a push reads the file again and re-describes it.
          if (observation.bytes && keptBytes + observation.bytes.length <= SCAN_BYTES_BUDGET) {
            keptBytes += observation.bytes.length;
            found.set(path, observation);
          } else found.set(path, { content: observation.content, stat: observation.stat });
        }),
      );
      await Promise.all(subfolders.map(walk));
    };
    await walk('');
    this.rules = rules;
    return found;
  }

  /**
   * Observes one path now. `forceRead` skips the stat cache (used for watcher events, where the
   * content is known to have been touched). A missing or ignored path observes as deleted, and so
   * does a path the file system finds only under another spelling (`readme.md` for `README.md`
   * on macOS): that entry is another path's. `spellings` may be shared by a batch of observations.
   */
  async observe(
    path: string,
    base: BaseRecord | undefined,
    forceRead: boolean,
    spellings: Spellings = this.spellings(),
  ): Promise<Observation> {
    const absolute = join(this.root, path);
    return this.limiter.run(async () => {
      const found = spellings.lookup(path);
      if (found?.spelling !== 'exact') return { content: DELETED };
      const stats: Stats = found.stats;
      const stat: StatStamp = {
        size: stats.size,
        mtimeMs: stats.mtimeMs,
        ctimeMs: stats.ctimeMs,
        ino: stats.ino,
        mode: stats.mode,
      };
      if (stats.isDirectory()) return { content: { kind: 'dir' }, stat };
      if (stats.isSymbolicLink()) {
        try {
          return { content: { kind: 'symlink', target: readlinkSync(absolute) }, stat };
        } catch {
          return { content: DELETED };
        }
      }
      if (!stats.isFile()) {
        this.report(path, 'unsupported-type', 'only regular files, folders and symbolic links sync');
        return { content: DELETED };
      }
      if (
        !forceRead &&
        base?.stat &&
        base.content.kind === 'file' &&
        sameStat(base.stat, stat) &&
        !isRacy(base)
      ) {
        return { content: base.content, stat };
      }
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(absolute));
      } catch (error) {
        // Removed between the lstat and the read: it is simply gone.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { content: DELETED };
        this.report(path, 'unreadable', `cannot read: ${(error as Error).message}`);
        return base ? { content: base.content, stat: base.stat } : { content: DELETED };
      }
      this.problems.delete(path);
      const content = fileContent(bytes, (stats.mode & 0o111) !== 0);
      let after: Stats | undefined;
      try {
        after = lstatSync(absolute);
      } catch {
        after = undefined;
      }
      const unsettled =
        !after || after.size !== stats.size || after.mtimeMs !== stats.mtimeMs || after.ino !== stats.ino;
      return unsettled ? { content, stat, bytes, unsettled } : { content, stat, bytes };
    });
  }

  private report(path: string, code: string, message: string): void {
    this.problems.set(path, { path, code, message });
  }
}

/** The content description of file bytes: chunk list, hash, size, executable bit. */
export function fileContent(bytes: Uint8Array, exec: boolean): EntryContent {
  const chunks = chunkBytes(bytes).map((c): [string, number] => [c.hash, c.size]);
  return { kind: 'file', hash: fileHashFromChunks(chunks.map(([h]) => h)), size: bytes.length, exec, chunks };
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
 * Git's "racily clean" rule: a stat taken too soon after a change may hide a same-size edit made
 * within the timestamp granularity. Linux stamps files from a coarse clock (a few ms); filesystems
 * with whole-second stamps need the full window.
 */
function isRacy(base: BaseRecord): boolean {
  if (base.ownWrite) return false;
  if (!base.stat || base.statAt === undefined) return true;
  const changed = Math.max(base.stat.mtimeMs, base.stat.ctimeMs);
  const coarse = Number.isInteger(base.stat.mtimeMs / 1000);
  return base.statAt - changed < (coarse ? RACY_WINDOW_MS : FINE_RACY_WINDOW_MS);
}
