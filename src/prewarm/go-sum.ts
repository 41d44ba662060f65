/**
 * Go's module hashes, computed here so a warmed module is checked by warmsync itself and not only
 * by the go command: the `h1:` hash of a module zip and of a go.mod (golang.org/x/mod/sumdb/dirhash
 * Hash1), and the lines of a go.sum.
 */
import { createHash } from 'node:crypto';
import { openZip } from './zip-read.ts';

/**
 * Hash1: the sha256 of the lines `<sha256 hex>  <name>\n` of every file, sorted by name,
 * base64-encoded after `h1:`.
 */
export function hash1(files: ReadonlyArray<{ name: string; data: Uint8Array }>): string {
  const summary = createHash('sha256');
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const file of sorted) {
    if (file.name.includes('\n')) throw new Error(`file name with a newline: ${JSON.stringify(file.name)}`);
    summary.update(`${createHash('sha256').update(file.data).digest('hex')}  ${file.name}\n`);
  }
  return `h1:${summary.digest('base64')}`;
}

/** The hash go.sum records for a module's go.mod (`MODULE VERSION/go.mod h1:...`). */
export function goModHash(goMod: Uint8Array): string {
  return hash1([{ name: 'go.mod', data: goMod }]);
}

/**
 * The hash go.sum records for a module zip (`MODULE VERSION h1:...`), after checking that every
 * entry sits under `prefix` (`module@version/`), as Go's module zip format requires.
 */
export async function zipHash(path: string, prefix: string): Promise<string> {
  const zip = await openZip(path);
  try {
    const files = [];
    for (const entry of zip.entries) {
      if (!entry.name.startsWith(prefix) || entry.name.split('/').includes('..'))
        throw new Error(`module zip entry ${entry.name} is outside ${prefix}`);
      files.push({ name: entry.name, data: await zip.read(entry) });
    }
    return hash1(files);
  } finally {
    await zip.close();
  }
}

/** A go.sum's hashes, keyed `MODULE VERSION` (the zip) and `MODULE VERSION/go.mod`. */
export function parseGoSum(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const [path, version, hash] = line.trim().split(/\s+/);
    if (path && version && hash?.startsWith('h1:')) sums.set(`${path} ${version}`, hash);
  }
  return sums;
}
