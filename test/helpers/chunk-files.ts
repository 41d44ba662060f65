/** The files of a hub's chunk folder, as tests that damage or age them need them. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every file in the chunk folder `root` (chunks raw and compressed, and temporary files). */
export function chunkFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f)));
}

/** The file that holds chunk `hash`: `<hash>.z` when it is kept compressed, else `<hash>`. */
export function storedChunkFile(root: string, hash: string): string {
  const raw = join(root, hash.slice(0, 2), hash);
  return existsSync(`${raw}.z`) ? `${raw}.z` : raw;
}
