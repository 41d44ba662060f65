/**
 * A set of chunk hashes that does not keep the hashes: an agent on a 100,000-file tree remembers
 * every chunk the hub holds, and kept as 64-character strings that memory was about 30 MiB of an
 * idle agent's RSS. A hash is kept as the number its first 13 hex digits make (52 bits, exact in a
 * double); anything that is not a SHA-256 in hex is kept whole.
 *
 * Two chunks whose hashes share their first 52 bits would be taken for one. That is never unsafe
 * where this set is used: it only says which chunks need not be uploaded, and the hub refuses a
 * push naming a chunk it lacks (`missing-chunks`), after which the chunk is sent. With a million
 * chunks the chance of any such pair is about 1 in 9,000.
 *
 * @example
 * const known = new ChunkSet();
 * known.add(hash);
 * known.has(hash); // true
 */
const PREFIX_DIGITS = 13;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export class ChunkSet {
  private readonly prefixes = new Set<number>();
  private readonly others = new Set<string>();

  add(hash: string): void {
    if (SHA256_HEX.test(hash)) this.prefixes.add(prefixOf(hash));
    else this.others.add(hash);
  }

  has(hash: string): boolean {
    return SHA256_HEX.test(hash) ? this.prefixes.has(prefixOf(hash)) : this.others.has(hash);
  }

  get size(): number {
    return this.prefixes.size + this.others.size;
  }
}

function prefixOf(hash: string): number {
  return Number.parseInt(hash.slice(0, PREFIX_DIGITS), 16);
}
