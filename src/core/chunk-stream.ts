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
  private carry: Uint8Array = new Uint8Array(0);
  /** Offset in the stream of `carry[0]`. */
  private offset = 0;

  constructor(private readonly params: ChunkParams = DEFAULT_CHUNK_PARAMS) {}

  /** Takes the next piece of the stream; returns the chunks it completed, in order. */
  push(piece: Uint8Array): ChunkRef[] {
    const data = this.carry.length === 0 ? piece : concat(this.carry, piece);
    return this.cut(data, false);
  }

  /** Ends the stream; returns its last chunks. */
  end(): ChunkRef[] {
    return this.cut(this.carry, true);
  }

  private cut(data: Uint8Array, final: boolean): ChunkRef[] {
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
    // Copied, so the caller may reuse the buffer it passed in (a Buffer's slice() would be a view).
    this.carry = final ? new Uint8Array(0) : new Uint8Array(data.subarray(start));
    this.offset += start;
    return refs;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
