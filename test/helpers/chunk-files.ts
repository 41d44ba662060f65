/** The files of a hub's chunk folder, as tests that damage or age them need them. */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeIndex, indexLocation, TRAILER_BYTES } from '../../src/server/store/chunk-pack.ts';

/** Every file in the chunk folder `root` (chunks raw and compressed, packs, temporary files). */
export function chunkFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f)));
}

/** The file that holds chunk `hash`: `<hash>.z` when it is kept compressed, else `<hash>`. */
export function storedChunkFile(root: string, hash: string): string {
  const raw = join(root, hash.slice(0, 2), hash);
  return existsSync(`${raw}.z`) ? `${raw}.z` : raw;
}

/** The chunks the folder holds, in files of their own or in packs. */
export function storedChunks(root: string): string[] {
  const hashes = new Set<string>();
  for (const file of chunkFiles(root)) {
    const name = file.slice(file.lastIndexOf('/') + 1).replace(/\.z$/, '');
    if (/^[0-9a-f]{64}$/.test(name)) hashes.add(name);
  }
  const dir = join(root, 'packs');
  if (existsSync(dir))
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.pack')))
      for (const slot of slotsOf(new Uint8Array(readFileSync(join(dir, name)))) ?? []) hashes.add(slot.hash);
  return [...hashes];
}

/** A whole pack's slots, or undefined when it does not check. */
function slotsOf(pack: Uint8Array) {
  const location = indexLocation(pack.subarray(pack.length - TRAILER_BYTES), pack.length);
  return (
    location &&
    decodeIndex(pack.subarray(location.at, pack.length - TRAILER_BYTES), location.digest, location.at)
  );
}

/** The pack that holds chunk `hash`, and where in it, read with the format's own parser. */
export function packedChunk(
  root: string,
  hash: string,
): { path: string; offset: number; stored: number } | undefined {
  const dir = join(root, 'packs');
  if (!existsSync(dir)) return undefined;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.pack'))) {
    const path = join(dir, name);
    const slot = slotsOf(new Uint8Array(readFileSync(path)))?.find((s) => s.hash === hash);
    if (slot) return { path, offset: slot.offset, stored: slot.stored };
  }
  return undefined;
}

/**
 * Loses chunk `hash` the way a disk fault does: its file removed, or, for a chunk in a pack (which
 * cannot lose one chunk alone), its bytes there spoiled so that it no longer checks.
 */
export function loseChunk(root: string, hash: string): void {
  const file = storedChunkFile(root, hash);
  if (existsSync(file)) {
    rmSync(file);
    return;
  }
  const packed = packedChunk(root, hash);
  if (!packed) throw new Error(`chunk ${hash} is not in ${root}`);
  const pack = readFileSync(packed.path);
  for (let i = 0; i < packed.stored; i++) pack[packed.offset + i] = 0;
  writeFileSync(packed.path, pack);
}
