/**
 * Finds how the file system under DIR compares names, by trying it: a file is created under one of
 * the agent's temporary names (so the watcher and scans skip it, it never syncs, and one left by an
 * agent killed meanwhile is cleared like a write's), looked up under another letter case and
 * another Unicode normalisation form, and removed.
 */
import { closeSync, lstatSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EXACT_NAMES, type Folding, foldingFromProbe } from '../core/folding.ts';
import { nextProbeName } from './temp-files.ts';

/**
 * The folding of `dir`'s file system. A folder that cannot be written to (read-only, full) is
 * taken as comparing names exactly, which is what it did before the probe existed.
 *
 * @example
 * probeFolding('/Users/me/project') // { caseInsensitive: true, normalisationInsensitive: true, ... }
 */
export function probeFolding(dir: string): Folding {
  // Lower-case ASCII letters and an NFC 'é' (last): both have another spelling to look up. Only
  // the ASCII part changes case, as some file systems fold ASCII letters alone.
  const name = nextProbeName();
  const ascii = name.slice(0, -1);
  const created = join(dir, name);
  try {
    closeSync(openSync(created, 'wx'));
  } catch {
    return EXACT_NAMES;
  }
  try {
    return foldingFromProbe({
      otherCaseFound: found(join(dir, `${ascii.toUpperCase()}${name.slice(-1)}`)),
      otherFormFound: found(join(dir, name.normalize('NFD'))),
      listedAsCreated: readdirSync(dir).includes(name),
    });
  } finally {
    try {
      unlinkSync(created);
    } catch {
      // Removed by someone else: nothing left to clean.
    }
  }
}

function found(absolute: string): boolean {
  try {
    lstatSync(absolute);
    return true;
  } catch {
    return false;
  }
}
