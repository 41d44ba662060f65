import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** Directories never searched: they hold installed packages or VCS data, not the project's lockfiles. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

const LOCKFILE_NAMES = new Set([
  'package-lock.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lock',
  'poetry.lock',
  'go.sum',
]);

/** True for the lockfile names the cache key covers, including `requirements*.txt`. */
export function isLockfileName(name: string): boolean {
  return LOCKFILE_NAMES.has(name) || /^requirements.*\.txt$/.test(name);
}

/** One lockfile: its path relative to the repository (with `/`), and the SHA-256 of its content. */
export interface Lockfile {
  path: string;
  sha256: string;
}

/** Finds the lockfiles under `root`, sorted by path, skipping `.git` and `node_modules`. */
export async function findLockfiles(root: string): Promise<Lockfile[]> {
  const found: Lockfile[] = [];
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) pending.push(full);
      } else if (entry.isFile() && isLockfileName(entry.name)) {
        const sha256 = createHash('sha256')
          .update(await readFile(full))
          .digest('hex');
        found.push({ path: relative(root, full).split(sep).join('/'), sha256 });
      }
    }
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The cache key of a set of lockfiles: `warmsync-prewarm-<os>-<first 32 hex of SHA-256>` over the
 * lines `<path>\0<sha256 of content>\n` in path order. Any change to a lockfile's content, name or
 * location changes the key; nothing else does.
 *
 * @example
 * cacheKey('linux', [{ path: 'go.sum', sha256: 'ab…' }]); // 'warmsync-prewarm-linux-3f1c…'
 */
export function cacheKey(os: string, lockfiles: Lockfile[]): string {
  const hash = createHash('sha256');
  for (const file of lockfiles) hash.update(`${file.path}\0${file.sha256}\n`);
  return `warmsync-prewarm-${os.toLowerCase()}-${hash.digest('hex').slice(0, 32)}`;
}
