/**
 * Content hashes. SHA-256 everywhere content identity matters: chunk names are trusted across
 * machines, so the hash must be cryptographic (a collision would silently swap file contents).
 * `node:crypto` is used because it exists under both Bun and Node (the Action runs on Node).
 */
import { createHash } from 'node:crypto';

/** Hex SHA-256 of the bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of the parts end to end, as bytes. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/**
 * The content hash of a whole file, derived from its chunk list so that a large file is hashed
 * once (chunk by chunk) and never a second time end to end.
 *
 * @example fileHashFromChunks([]) // the hash of an empty file
 */
export function fileHashFromChunks(chunkHashes: readonly string[]): string {
  return createHash('sha256')
    .update(`warmsync-file\0${chunkHashes.join('\n')}`)
    .digest('hex');
}

/** True when the string has the shape of a hex SHA-256 digest. */
export function isSha256Hex(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}
