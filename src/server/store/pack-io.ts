/**
 * The file operations packs need, synchronous and small: reading a pack's index and a slot of it
 * by position, writing a buffer whole, flushing a folder.
 */
import { closeSync, fsyncSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { decodeIndex, indexLocation, type PackSlot, TRAILER_BYTES } from './chunk-pack.ts';

/** A pack's slots from its trailer and index, or undefined when they do not check. */
export function readIndex(fd: number, length: number): PackSlot[] | undefined {
  const trailer = readFd(fd, length - TRAILER_BYTES, TRAILER_BYTES);
  const location = indexLocation(trailer, length);
  if (!location) return undefined;
  const index = readFd(fd, location.at, length - TRAILER_BYTES - location.at);
  return decodeIndex(index, location.digest, location.at);
}

export function readFd(fd: number, position: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? bytes : bytes.subarray(0, done);
}

/** `length` bytes of the file at `offset` (fewer when the file is shorter: the check then fails). */
export function readAt(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    return readFd(fd, offset, length);
  } finally {
    closeSync(fd);
  }
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

export function syncFolderSync(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function modifiedAt(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

export function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
