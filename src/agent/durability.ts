/**
 * Making written files durable before anything depends on them. A remote version must be on the
 * disk before the rename that makes it visible (else a power loss can leave a torn file, which
 * the next scan would push to every peer as a local edit), and the renames must be on the disk
 * before the agent's state records them as its base.
 *
 * A write is flushed the classic way: its staged file's content, then (after the renames) the
 * folders that hold the new names; a file is not flushed a second time after its rename, which
 * changes only its folder. One fsync costs about as much as writing a small file, so a slice of
 * many files is flushed at once on Linux with syncfs(2), one call for the filesystem that holds
 * the tree; elsewhere, and for a handful of files, one fsync per file and per folder.
 */
import { closeSync, constants, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

type SyncFs = (fd: number) => number;

/** Batches of at most this many files are flushed file by file (and their folders). */
const FSYNC_EACH_UP_TO = 8;

function loadSyncFs(): SyncFs | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // bun:ffi is loaded lazily so that this module also loads where Bun's FFI is missing.
    const { dlopen, FFIType } = require('bun:ffi') as typeof import('bun:ffi');
    for (const name of ['libc.so.6', 'libc.so']) {
      try {
        const lib = dlopen(name, { syncfs: { args: [FFIType.i32], returns: FFIType.i32 } });
        return (fd) => lib.symbols.syncfs(fd) as number;
      } catch {
        // Try the next name (musl calls it libc.so).
      }
    }
  } catch {
    // No FFI here: fall back to one fsync per file.
  }
  return undefined;
}

export class Durability {
  private readonly syncfs: SyncFs | undefined;

  /** `enabled: false` (for throwaway trees) skips every flush; `syncPath` flushes one path (tests count them). */
  constructor(
    private readonly root: string,
    private readonly enabled = true,
    private readonly syncPath: (path: string) => void = fsyncPath,
  ) {
    this.syncfs = enabled ? loadSyncFs() : undefined;
  }

  /** How this agent makes writes durable, for its start-up log. */
  describe(): string {
    if (!this.enabled) return 'writes are not flushed to disk (--no-fsync)';
    return this.syncfs
      ? `writes flushed with fsync up to ${FSYNC_EACH_UP_TO} files, with syncfs per larger slice`
      : 'writes flushed with fsync per file';
  }

  /**
   * Makes the given files' content durable, not their names: for staged files, whose rename into
   * place follows and is made durable by `flush` of the folder it happens in.
   */
  flushContent(files: readonly string[]): void {
    if (!this.enabled || files.length === 0) return;
    if (this.flushedWhole(files)) return;
    for (const file of files) this.syncPath(file);
  }

  /**
   * Makes the given paths durable where they stand (renamed into place, made, or removed): the
   * folders that hold them, and the paths themselves except those in `folderOnly`, whose folder
   * alone changed (a file renamed into place after `flushContent`: a rename changes only the
   * folder that holds the name; a removal).
   */
  flush(paths: readonly string[], folderOnly: ReadonlySet<string> = new Set()): void {
    if (!this.enabled || paths.length === 0) return;
    if (this.flushedWhole(paths)) return;
    const folders = new Set<string>();
    for (const path of paths) {
      if (!folderOnly.has(path)) this.syncPath(path);
      folders.add(dirname(path));
    }
    for (const folder of folders) this.syncPath(folder);
  }

  /**
   * syncfs writes back every dirty page of the filesystem, other programs' too: worth it for a
   * slice of many files, not for the one or two of an ordinary edit, which fsync alone covers.
   */
  private flushedWhole(paths: readonly string[]): boolean {
    return paths.length > FSYNC_EACH_UP_TO && this.syncfs !== undefined && this.syncWholeFilesystem();
  }

  private syncWholeFilesystem(): boolean {
    let fd: number;
    try {
      fd = openSync(this.root, 'r');
    } catch {
      return false;
    }
    try {
      return this.syncfs!(fd) === 0;
    } finally {
      closeSync(fd);
    }
  }
}

/** fsync(2) of one path, never through a link; a path gone or unopenable is skipped. */
export function fsyncPath(path: string): void {
  let fd: number;
  try {
    // Never through a link: a staged link's target may be anything, outside the tree, a FIFO
    // that would block the open. The link itself is made durable with its folder.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    // Gone already (a rename or deletion that followed), or a link: nothing of it to flush here.
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on folders (EINVAL); the file's own fsync still happened.
  } finally {
    closeSync(fd);
  }
}
