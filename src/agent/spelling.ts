/**
 * The exact-spelling check. On a file system that folds names (macOS, Windows), `lstat` of
 * `README.md` succeeds when only `readme.md` is stored; acting on that answer adopts, overwrites
 * or unlinks an entry that belongs to another name. Every path the agent observes or changes is
 * therefore looked up here: each of its segments must be in its parent's listing as spelled.
 *
 * Listings are read once per batch and kept up to date with the batch's own changes (`added`,
 * `removed`), so a batch of thousands of files in one folder lists that folder once. Where names
 * are compared exactly (Linux), a lookup is a plain `lstat` and nothing is listed.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { type Folding, findSpelling, foldsNames, sameSpelling } from '../core/folding.ts';
import { parentPath } from '../core/paths.ts';
import { isAbsent } from './tree-fs.ts';

/** What is on disk at a path: nothing, the entry under this very spelling, or another name's entry. */
export type Lookup =
  | undefined
  | { spelling: 'exact'; stats: Stats }
  /** The file system opens `stored` (another spelling of the path) for it. */
  | { spelling: 'other'; stats: Stats; stored: string };

export class Spellings {
  /** Names listed in each folder (by its stored relative path; '' is the root). */
  private readonly listings = new Map<string, string[]>();

  constructor(
    readonly root: string,
    readonly folding: Folding,
  ) {}

  /**
   * Looks `path` up. Invariant on 'exact': every segment of `path` is listed in its parent as
   * spelled, so whatever is done to the path is done to that name and no other. Only "nothing is
   * there" (see `isAbsent`) answers undefined; any other failure of the lstat (permissions, I/O) is
   * thrown, so that the caller can treat the path as unknown rather than as deleted.
   *
   * @example
   * new Spellings(mountOfAMac, folding).lookup('README.md') // { spelling: 'other', stored: 'readme.md', ... }
   */
  lookup(path: string): Lookup {
    let stats: Stats | undefined;
    try {
      // Most lookups of a first sync find nothing: answered without an error object for each.
      stats = lstatSync(join(this.root, path), { throwIfNoEntry: false });
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
    if (!stats) return undefined;
    if (!foldsNames(this.folding)) return { spelling: 'exact', stats };
    let stored = this.storedPath(path);
    if (stored === undefined) {
      // The file system found something the listings do not hold under any spelling: they are
      // out of date (a local change during the batch). Read them again, once.
      this.listings.clear();
      stored = this.storedPath(path);
    }
    // Still unmatched: the file system folds in a way `foldName` does not model. Trust lstat, as
    // the agent always did, rather than call the file gone (which would push its deletion).
    if (stored === undefined || stored === path) return { spelling: 'exact', stats };
    return { spelling: 'other', stats, stored };
  }

  /** The listing of `folder` as the batch has seen it, for callers that already read it. */
  seed(folder: string, names: string[]): void {
    if (foldsNames(this.folding)) this.listings.set(folder, names);
  }

  /** The batch created `path` under this spelling. */
  added(path: string): void {
    if (!foldsNames(this.folding)) return;
    const listing = this.listings.get(parentPath(path));
    const name = leafName(path);
    if (listing && !listing.includes(name)) listing.push(name);
  }

  /** The batch removed (or renamed away) `path`, exactly as spelled. */
  removed(path: string): void {
    if (!foldsNames(this.folding)) return;
    const listing = this.listings.get(parentPath(path));
    if (listing) {
      const index = listing.indexOf(leafName(path));
      if (index >= 0) listing.splice(index, 1);
    }
    for (const key of [...this.listings.keys()])
      if (key === path || key.startsWith(`${path}/`)) this.listings.delete(key);
  }

  /**
   * The stored spelling of every segment of `path`, joined, or undefined where a segment is
   * missing from its parent's listing under any spelling.
   */
  private storedPath(path: string): string | undefined {
    let stored = '';
    for (const segment of path.split('/')) {
      const names = this.listing(stored);
      if (!names) return undefined;
      const found = findSpelling(segment, names, this.folding);
      if (found === undefined) return undefined;
      // Keep the caller's spelling where it matches, so 'exact' compares equal strings.
      const name = sameSpelling(found, segment, this.folding) ? segment : found;
      stored = stored === '' ? name : `${stored}/${name}`;
    }
    return stored;
  }

  private listing(folder: string): string[] | undefined {
    const known = this.listings.get(folder);
    if (known) return known;
    try {
      const names = readdirSync(join(this.root, folder));
      this.listings.set(folder, names);
      return names;
    } catch {
      return undefined;
    }
  }
}

function leafName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
