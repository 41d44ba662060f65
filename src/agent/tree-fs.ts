/**
 * Reading inside the synced folder without ever leaving it. A path is inside the tree only when
 * every folder on the way is a real folder (not a symbolic link, not a file); the leaf is opened
 * with O_NOFOLLOW and checked on its descriptor, so a link planted at the leaf or swapped in after
 * the lstat cannot turn a read into a read of something outside.
 *
 * Node has no openat(), so an ancestor swapped for a link between the check and the open cannot be
 * excluded by the kernel; the window is the few microseconds between two system calls, and the
 * descriptor's own stat must still name a regular file.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { ChunkRef } from '../core/chunk.ts';
import { ChunkStream } from '../core/chunk-stream.ts';
import { sha256Hex } from '../core/hash.ts';
import { ancestorPaths } from '../core/paths.ts';

/** Why a path cannot be looked at as part of the tree. */
export type TreeAccess =
  | { ok: true }
  /** An ancestor is a link, a file or missing: the path is not in the tree (it observes as absent). */
  | { ok: false; code: 'outside'; folder: string }
  /** An ancestor could not be looked at (permissions, I/O): the path's state is unknown. */
  | { ok: false; code: 'unknown'; folder: string; message: string };

/**
 * Verdicts on folders already checked, for one batch of observations: a batch of thousands of
 * paths in a few folders checks each folder once.
 */
export type FolderVerdicts = Map<string, TreeAccess>;

/** Checks that every ancestor of `path` is a real folder under `root`. */
export function checkAncestors(root: string, path: string, verdicts: FolderVerdicts = new Map()): TreeAccess {
  for (const folder of ancestorPaths(path)) {
    let verdict = verdicts.get(folder);
    if (!verdict) {
      verdict = folderVerdict(join(root, folder), folder);
      verdicts.set(folder, verdict);
    }
    if (!verdict.ok) return verdict;
  }
  return { ok: true };
}

function folderVerdict(absolute: string, folder: string): TreeAccess {
  let stats: Stats;
  try {
    stats = lstatSync(absolute);
  } catch (error) {
    if (isAbsent(error)) return { ok: false, code: 'outside', folder };
    return { ok: false, code: 'unknown', folder, message: (error as Error).message };
  }
  return stats.isDirectory() ? { ok: true } : { ok: false, code: 'outside', folder };
}

/** True for the errors that mean "nothing is there": only these may ever count as a deletion. */
export function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // ENOTDIR: an ancestor is a file, so nothing can exist below it.
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A regular file's bytes and the stat of the descriptor they were read from. */
export interface FileRead {
  bytes: Uint8Array;
  stats: Stats;
}

export class NotARegularFile extends Error {
  readonly code = 'not-a-regular-file';
}

/**
 * Reads the regular file at `absolute` without following a link at the leaf: a link, a folder or
 * anything else there throws (ELOOP from the open, or NotARegularFile). The caller has checked the
 * ancestors. Reads until end of file, so a file that grows meanwhile is read whole.
 */
export function readRegularFile(absolute: string): FileRead {
  const fd = openSync(absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotARegularFile(`${absolute} is not a regular file`);
    return readToEnd(fd, stats);
  } finally {
    closeSync(fd);
  }
}

function readToEnd(fd: number, stats: Stats): FileRead {
  let buffer = Buffer.allocUnsafe(Math.max(stats.size, 0) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) break;
    length += n;
  }
  return { bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, length), stats };
}

/** A large regular file described while streamed through: its chunks, never all its bytes. */
export interface FileDescribed {
  refs: ChunkRef[];
  length: number;
  stats: Stats;
}

/** Bytes read from a large file at a time while it is described. */
const STREAM_PIECE_BYTES = 8 * 1024 * 1024;

/**
 * Like `readRegularFile`, but a file of `streamFrom` bytes or more is chunked and hashed as it is
 * read, piece by piece, so memory stays bounded whatever its size.
 */
export function readOrDescribeFile(absolute: string, streamFrom: number): FileRead | FileDescribed {
  const fd = openSync(absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotARegularFile(`${absolute} is not a regular file`);
    if (stats.size < streamFrom) return readToEnd(fd, stats);
    const stream = new ChunkStream();
    const refs: ChunkRef[] = [];
    const piece = Buffer.allocUnsafe(STREAM_PIECE_BYTES);
    let length = 0;
    for (;;) {
      const n = readSync(fd, piece, 0, piece.length, null);
      if (n === 0) break;
      length += n;
      refs.push(...stream.push(piece.subarray(0, n)));
    }
    refs.push(...stream.end());
    return { refs, length, stats };
  } finally {
    closeSync(fd);
  }
}

/**
 * One chunk of a tree file, read at its offset and checked against its hash: undefined when the
 * file no longer holds it there (edited since it was described).
 */
export function readChunkAt(root: string, path: string, offset: number, size: number, hash: string) {
  const access = checkAncestors(root, path);
  if (!access.ok) return undefined;
  let fd: number;
  try {
    fd = openSync(join(root, path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, offset + got);
      if (n === 0) return undefined;
      got += n;
    }
    const chunk = new Uint8Array(bytes.buffer, bytes.byteOffset, size);
    return sha256Hex(chunk) === hash ? chunk : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Chunks read out of one tree file at their offsets, each checked against its hash, through one
 * buffer reused from read to read: copying a large file's unchanged chunks this way allocates
 * nothing per chunk (a fresh buffer for each of a 4 GiB file's 65,000 chunks left the garbage
 * collector far behind, the process peaking at three times its working set).
 */
export class VerifiedReader {
  private scratch = new Uint8Array(0);

  private constructor(private readonly fd: number) {}

  /** Opens tree-relative `path` as `readChunkAt` does; undefined when it is not a regular file of the tree. */
  static open(root: string, path: string): VerifiedReader | undefined {
    if (!checkAncestors(root, path).ok) return undefined;
    let fd: number;
    try {
      fd = openSync(join(root, path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      return undefined;
    }
    return new VerifiedReader(fd);
  }

  /**
   * The `size` bytes at `offset` when they hash to `hash`, else undefined. The bytes are valid
   * only until the next read.
   */
  read(offset: number, size: number, hash: string): Uint8Array | undefined {
    if (this.scratch.length < size) this.scratch = new Uint8Array(size);
    const bytes = this.scratch.subarray(0, size);
    let got = 0;
    while (got < size) {
      const n = readSync(this.fd, bytes, got, size - got, offset + got);
      if (n === 0) return undefined;
      got += n;
    }
    return sha256Hex(bytes) === hash ? bytes : undefined;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Reads the file at tree-relative `path` after checking its ancestors; throws when it cannot. */
export function readTreeFile(root: string, path: string, verdicts?: FolderVerdicts): Uint8Array {
  const access = checkAncestors(root, path, verdicts);
  if (!access.ok) {
    const error = new Error(`'${access.folder}' is not a folder of the tree`) as NodeJS.ErrnoException;
    error.code = access.code === 'outside' ? 'ENOENT' : 'EACCES';
    throw error;
  }
  return readRegularFile(join(root, path)).bytes;
}
