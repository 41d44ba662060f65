/**
 * Recently seen chunk bytes, bounded by total size. They serve as delta bases (the previous
 * version of an edited file is usually here) and spare re-reads when applying.
 */
export class ChunkCache {
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(hash: string): Uint8Array | undefined {
    const value = this.entries.get(hash);
    if (value) {
      // Refresh recency: Map iteration order is insertion order.
      this.entries.delete(hash);
      this.entries.set(hash, value);
    }
    return value;
  }

  has(hash: string): boolean {
    return this.entries.has(hash);
  }

  set(hash: string, value: Uint8Array): void {
    if (value.length > this.maxBytes / 8 || this.entries.has(hash)) return;
    this.entries.set(hash, value);
    this.bytes += value.length;
    for (const [key, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= old.length;
    }
  }

  /**
   * Keeps only the most recently used chunks, up to `maxBytes`. After a bulk transfer (a first
   * sync, a checkout) the cache is full of chunks that happened to pass last, which are rarely
   * the delta bases of the next edits; an idle agent on a big tree should not hold them.
   */
  trim(maxBytes: number): void {
    for (const [key, old] of this.entries) {
      if (this.bytes <= maxBytes) break;
      this.entries.delete(key);
      this.bytes -= old.length;
    }
  }

  /** Caches each chunk of a file whose bytes were just read or written. */
  addFile(chunks: ReadonlyArray<readonly [string, number]>, bytes: Uint8Array): void {
    let offset = 0;
    for (const [hash, size] of chunks) {
      this.set(hash, bytes.subarray(offset, offset + size));
      offset += size;
    }
  }
}
