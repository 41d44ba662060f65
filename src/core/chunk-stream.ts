/**
 * Content-defined chunking over a stream: the same chunks `chunkBytes` finds in the whole file,
 * found from pieces read one after another, holding at most one piece and one chunk's worth of
 * carried bytes. Pure (no I/O): the caller reads, this cuts and hashes.
 *
 * Why it matches `chunkBytes` exactly: a cut is decided by the bytes from the chunk's start up to
 * at most `maxSize` further. A chunk whose start has `maxSize` bytes after it in memory is final;
 * the rest is carried to the next piece, and only the end of the stream settles the last chunks.
 */
import { type ChunkParams, type ChunkRef, DEFAULT_CHUNK_PARAMS, findCutPoints } from './chunk.ts';
import { sha256Hex } from './hash.ts';

export class ChunkStream {
  /** Carried bytes at the front, then the piece being cut; reused, so pieces allocate nothing. */
  private buffer: Uint8Array = new Uint8Array(0);
  private carried = 0;
  /** Offset in the stream of `buffer[0]`. */
  private offset = 0;

  constructor(private readonly params: ChunkParams = DEFAULT_CHUNK_PARAMS) {}

  /** Takes the next piece of the stream; returns the chunks it completed, in order. */
  push(piece: Uint8Array): ChunkRef[] {
    const length = this.carried + piece.length;
    if (length > this.buffer.length) {
      const bigger = new Uint8Array(length);
      bigger.set(this.buffer.subarray(0, this.carried));
      this.buffer = bigger;
    }
    // Copied in, so the caller may reuse the buffer it passed.
    this.buffer.set(piece, this.carried);
    return this.cut(length, false);
  }

  /** Ends the stream; returns its last chunks. */
  end(): ChunkRef[] {
    return this.cut(this.carried, true);
  }

  private cut(length: number, final: boolean): ChunkRef[] {
    const data = this.buffer.subarray(0, length);
    const refs: ChunkRef[] = [];
    let start = 0;
    for (const cut of findCutPoints(data, this.params)) {
      if (!final && start + this.params.maxSize > data.length) break;
      refs.push({
        hash: sha256Hex(data.subarray(start, cut)),
        offset: this.offset + start,
        size: cut - start,
      });
      start = cut;
    }
    this.buffer.copyWithin(0, start, length);
    this.carried = final ? 0 : length - start;
    this.offset += start;
    return refs;
  }
}
