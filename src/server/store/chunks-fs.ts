/**
 * Content-addressed chunks in a folder: `<root>/ab/abcdef...`. A chunk is written to a temporary
 * file and renamed into place, so a reader or a crash never sees a partial chunk, and two writers
 * of one chunk (same bytes by construction) cannot corrupt it.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isSha256Hex, sha256Hex } from '../../core/hash.ts';

export interface ChunkStore {
  has(hash: string): Promise<boolean>;
  /** The stored length of a chunk, or undefined when it is not stored. */
  size(hash: string): Promise<number | undefined>;
  get(hash: string): Promise<Uint8Array | undefined>;
  /** Stores bytes already verified against `hash`. */
  put(hash: string, bytes: Uint8Array): Promise<void>;
  /** Total bytes stored. */
  sizeBytes(): number;
}

export class FolderChunkStore implements ChunkStore {
  private totalBytes = 0;
  /** Chunks seen stored, with their lengths: chunks never change once stored. */
  private readonly known = new Map<string, number>();

  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true });
    this.totalBytes = this.measure();
  }

  async has(hash: string): Promise<boolean> {
    return (await this.size(hash)) !== undefined;
  }

  async size(hash: string): Promise<number | undefined> {
    const known = this.known.get(hash);
    if (known !== undefined) return known;
    try {
      const { size } = statSync(this.pathOf(hash));
      this.known.set(hash, size);
      return size;
    } catch {
      return undefined;
    }
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
    if (await this.has(hash)) {
      this.touch(hash);
      return;
    }
    const target = this.pathOf(hash);
    mkdirSync(join(this.root, hash.slice(0, 2)), { recursive: true });
    const temp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    writeFileSync(temp, bytes);
    renameSync(temp, target);
    this.known.set(hash, bytes.length);
    this.totalBytes += bytes.length;
  }

  sizeBytes(): number {
    return this.totalBytes;
  }

  /**
   * Marks a stored chunk as just used (its mtime), so that a collection running now leaves it to
   * the push that is about to name it.
   */
  touch(hash: string): void {
    try {
      const now = new Date();
      utimesSync(this.pathOf(hash), now, now);
    } catch {
      // Gone: the pusher is told it is missing and sends it.
    }
  }

  /**
   * Removes every chunk `keep` does not want whose file was last written or touched before
   * `before` (ms since the epoch): chunks uploaded for a push still in flight stay.
   */
  sweep(keep: (hash: string) => boolean, before: number): { removed: string[]; bytes: number } {
    const removed: string[] = [];
    let bytes = 0;
    for (const dir of readdirSync(this.root)) {
      for (const name of readdirSync(join(this.root, dir))) {
        if (!isSha256Hex(name) || keep(name)) continue;
        const path = join(this.root, dir, name);
        let stats: ReturnType<typeof statSync>;
        try {
          stats = statSync(path);
        } catch {
          continue;
        }
        if (stats.mtimeMs >= before) continue;
        rmSync(path, { force: true });
        this.known.delete(name);
        removed.push(name);
        bytes += stats.size;
      }
    }
    this.totalBytes = Math.max(0, this.totalBytes - bytes);
    return { removed, bytes };
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
