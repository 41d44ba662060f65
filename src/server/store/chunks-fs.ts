/**
 * Content-addressed chunks in a folder: `<root>/ab/abcdef...`. A chunk is written to a temporary
 * file and renamed into place, so a reader or a crash never sees a partial chunk, and two writers
 * of one chunk (same bytes by construction) cannot corrupt it.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isSha256Hex, sha256Hex } from '../../core/hash.ts';

export interface ChunkStore {
  has(hash: string): Promise<boolean>;
  get(hash: string): Promise<Uint8Array | undefined>;
  /** Stores bytes already verified against `hash`. */
  put(hash: string, bytes: Uint8Array): Promise<void>;
  /** Total bytes stored. */
  sizeBytes(): number;
}

export class FolderChunkStore implements ChunkStore {
  private totalBytes = 0;
  private readonly known = new Set<string>();

  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true });
    this.totalBytes = this.measure();
  }

  async has(hash: string): Promise<boolean> {
    if (this.known.has(hash)) return true;
    const present = existsSync(this.pathOf(hash));
    if (present) this.known.add(hash);
    return present;
  }

  /**
   * The chunk's bytes, verified against its name. A chunk that is gone or fails verification
   * (a disk fault) is forgotten and its file removed, so that `has` answers false and the next
   * agent that holds the content uploads it again.
   */
  async get(hash: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(hash);
    let bytes: Uint8Array;
    try {
      // Synchronous: chunks are small, and a thread-pool round trip costs more than the read.
      bytes = new Uint8Array(readFileSync(path));
    } catch {
      this.known.delete(hash);
      return undefined;
    }
    if (sha256Hex(bytes) === hash) return bytes;
    this.known.delete(hash);
    rmSync(path, { force: true });
    this.totalBytes = Math.max(0, this.totalBytes - bytes.length);
    return undefined;
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    if (await this.has(hash)) return;
    const target = this.pathOf(hash);
    mkdirSync(join(this.root, hash.slice(0, 2)), { recursive: true });
    const temp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    writeFileSync(temp, bytes);
    renameSync(temp, target);
    this.known.add(hash);
    this.totalBytes += bytes.length;
  }

  sizeBytes(): number {
    return this.totalBytes;
  }

  private pathOf(hash: string): string {
    if (!isSha256Hex(hash)) throw new Error(`not a chunk hash: ${hash}`);
    return join(this.root, hash.slice(0, 2), hash);
  }

  private measure(): number {
    let total = 0;
    for (const dir of readdirSync(this.root)) {
      for (const name of readdirSync(join(this.root, dir))) {
        if (isSha256Hex(name)) total += statSync(join(this.root, dir, name)).size;
      }
    }
    return total;
  }
}
