/**
 * Making written files durable before anything depends on them. A remote version must be on the
 * disk before the rename that makes it visible (else a power loss can leave a torn file, which
 * the next scan would push to every peer as a local edit), and the renames must be on the disk
 * before the agent's state records them as its base.
 *
 * So a write is flushed twice: its contents under the temporary name (`flushContents`, the file
 * alone: its temporary name is gone once renamed, so its folder need not be flushed yet), then,
 * after the renames, the folders that hold the new names (`flush`). One fsync costs about as
 * much as writing a small file, so each step covers a whole slice at once: the files' fsyncs side
 * by side (the filesystem's journal takes them in few commits), or for a slice of many files, on
 * Linux with syncfs(2), one call for the filesystem that holds the tree.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

type SyncFs = (fd: number) => number;

/** Batches of at most this many files are flushed file by file (and their folders). */
const FSYNC_EACH_UP_TO = 8;
/**
 * Contents of at most this many files are flushed file by file, side by side, instead of by one
 * syncfs: syncfs also writes back every other program's dirty pages on the filesystem, which on a
 * busy machine (a build, an install) costs far more than the few files of a checkout.
 */
const FSYNC_CONTENTS_UP_TO = 256;

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

  /** `enabled: false` (for throwaway trees) skips every flush. */
  constructor(
    private readonly root: string,
    private readonly enabled = true,
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
   * Makes the given files' contents durable, not their names: for files written under temporary
   * names, before they are renamed into place (the flush after the renames covers the names).
   */
  async flushContents(files: readonly string[]): Promise<void> {
    if (!this.enabled || files.length === 0) return;
    if (files.length === 1) {
      // The one file of an ordinary edit: no trip through the thread pool.
      fsyncContents(files[0]!);
      return;
    }
    if (files.length > FSYNC_CONTENTS_UP_TO && this.syncfs && this.syncWholeFilesystem()) return;
    await Promise.all(files.map(fsyncContentsAsync));
  }

  /**
   * Makes the given files, and the folders they are in, durable; of `renamed` (files whose
   * contents `flushContents` made durable before they were renamed into place) only the folders.
   */
  flush(files: readonly string[], renamed: readonly string[] = []): void {
    if (!this.enabled || files.length + renamed.length === 0) return;
    // syncfs writes back every dirty page of the filesystem, other programs' too: worth it for a
    // slice of many files, not for the one or two of an ordinary edit, which fsync alone covers.
    if (files.length + renamed.length > FSYNC_EACH_UP_TO && this.syncfs && this.syncWholeFilesystem()) return;
    const folders = new Set<string>();
    for (const file of files) {
      fsyncPath(file);
      folders.add(dirname(file));
    }
    for (const file of renamed) folders.add(dirname(file));
    for (const folder of folders) fsyncPath(folder);
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

function fsyncPath(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    // Gone already (a rename or deletion that followed): nothing of it left to flush.
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

/** Flushes a file's contents; a failure is thrown (the file must not be renamed into place). */
function fsyncContents(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    // Gone already (removed before its rename): nothing of it left to flush.
    return;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function fsyncContentsAsync(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
