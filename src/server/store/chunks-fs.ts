/**
 * Content-addressed chunks in a folder: `<root>/ab/abcdef...`. A chunk is written to a temporary
 * file and renamed into place, so a reader or a crash never sees a partial chunk, and two writers
 * of one chunk (same bytes by construction) cannot corrupt it.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSha256Hex } from '../../core/hash.ts';

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

  async get(hash: string): Promise<Uint8Array | undefined> {
    try {
      // Synchronous: chunks are small, and a thread-pool round trip costs more than the read.
      return new Uint8Array(readFileSync(this.pathOf(hash)));
    } catch {
      return undefined;
    }
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    if (await this.has(hash)) return;
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
