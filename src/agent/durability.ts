/**
 * Making written files durable before anything depends on them. A remote version must be on the
 * disk before the rename that makes it visible (else a power loss can leave a torn file, which
 * the next scan would push to every peer as a local edit), and the renames must be on the disk
 * before the agent's state records them as its base.
 *
 * One fsync per file costs about as much as writing a small file, so the agent flushes a whole
 * slice at once: on Linux with syncfs(2), one call for the filesystem that holds the tree; where
 * that is not available, an fsync of every file and then of every folder touched.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
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

  /** Makes the given files, and the folders they are in, durable. */
  flush(files: readonly string[]): void {
    if (!this.enabled || files.length === 0) return;
    // syncfs writes back every dirty page of the filesystem, other programs' too: worth it for a
    // slice of many files, not for the one or two of an ordinary edit, which fsync alone covers.
    if (files.length > FSYNC_EACH_UP_TO && this.syncfs && this.syncWholeFilesystem()) return;
    const folders = new Set<string>();
    for (const file of files) {
      fsyncPath(file);
      folders.add(dirname(file));
    }
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
