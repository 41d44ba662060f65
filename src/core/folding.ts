/**
 * How a folder's file system compares names. Linux file systems compare bytes; the default file
 * systems of macOS (APFS) and Windows (NTFS) fold letter case, and APFS also treats the Unicode
 * normalisation forms of a name as one name. On those, `lstat("README.md")` succeeds when only
 * `readme.md` is stored, so "does this path exist" must be asked of the parent's listing, which
 * holds the spelling actually stored.
 *
 * Pure: the probe that finds a folder's folding lives in `agent/fs-probe.ts`.
 */

export interface Folding {
  /** `A` and `a` name the same entry. */
  caseInsensitive: boolean;
  /** The NFC and NFD forms of a name (`é` and `e` + combining acute) name the same entry. */
  normalisationInsensitive: boolean;
  /**
   * The listing does not give names back in the form they were created with (HFS+ stores NFD).
   * Spellings are then compared after normalisation, or no non-ASCII name would ever match.
   */
  normalisesNames: boolean;
}

/** Linux: names are bytes; the listing check is skipped altogether. */
export const EXACT_NAMES: Folding = {
  caseInsensitive: false,
  normalisationInsensitive: false,
  normalisesNames: false,
};

/** True when the file system can find an entry under a name other than the one it stores. */
export function foldsNames(folding: Folding): boolean {
  return folding.caseInsensitive || folding.normalisationInsensitive;
}

/** What a folding ignores, in words ('letter case', ...), or undefined for none. */
export function describeFolding(folding: Folding): string | undefined {
  const ignored = [
    ...(folding.caseInsensitive ? ['letter case'] : []),
    ...(folding.normalisationInsensitive ? ['Unicode normalisation'] : []),
  ];
  return ignored.length > 0 ? ignored.join(' or ') : undefined;
}

/** What a probe saw, after creating a file named `created` (which holds an `é`, in NFC). */
export interface ProbeResult {
  /** lstat of `created` in another letter case found the file. */
  otherCaseFound: boolean;
  /** lstat of `created` in NFD found the file. */
  otherFormFound: boolean;
  /** The listing holds `created` exactly as given. */
  listedAsCreated: boolean;
}

/** The folding a probe shows. */
export function foldingFromProbe(probe: ProbeResult): Folding {
  return {
    caseInsensitive: probe.otherCaseFound,
    normalisationInsensitive: probe.otherFormFound,
    normalisesNames: probe.otherFormFound && !probe.listedAsCreated,
  };
}

/** The key two names share when the file system takes them for one entry. */
export function foldName(name: string, folding: Folding): string {
  let key = folding.normalisationInsensitive ? name.normalize('NFC') : name;
  if (folding.caseInsensitive) key = key.toLowerCase();
  return key;
}

/** True when a listed name is `wanted` as spelled (up to normalisation where names are normalised). */
export function sameSpelling(listed: string, wanted: string, folding: Folding): boolean {
  if (listed === wanted) return true;
  return folding.normalisesNames && listed.normalize('NFC') === wanted.normalize('NFC');
}

/**
 * The listed name that the file system opens for `wanted`: `wanted` itself when it is listed as
 * spelled, else the listed name that folds to the same key, else undefined (nothing there).
 *
 * @example
 * findSpelling('README.md', ['readme.md'], { ...EXACT_NAMES, caseInsensitive: true }) // 'readme.md'
 */
export function findSpelling(
  wanted: string,
  listing: readonly string[],
  folding: Folding,
): string | undefined {
  for (const name of listing) if (sameSpelling(name, wanted, folding)) return name;
  if (!foldsNames(folding)) return undefined;
  const key = foldName(wanted, folding);
  for (const name of listing) if (foldName(name, folding) === key) return name;
  return undefined;
}

/**
 * Case-only (or normalisation-only) renames in a batch of remote changes: each path written whose
 * name the file system takes for a path deleted in the same batch. The hub carries such a rename
 * as a deletion and a creation; applied apart on a folding file system they would remove the one
 * entry both names open. Returns new path -> old path.
 *
 * Invariant: no two written paths (and no two deleted paths) share a key here, because the hub
 * refuses a second live path that collides with another.
 */
export function pairRespellings(
  written: readonly string[],
  deleted: readonly string[],
  folding: Folding,
): Map<string, string> {
  const pairs = new Map<string, string>();
  if (!foldsNames(folding) || written.length === 0 || deleted.length === 0) return pairs;
  const goneByKey = new Map<string, string>();
  for (const path of deleted) goneByKey.set(foldName(path, folding), path);
  for (const path of written) {
    const old = goneByKey.get(foldName(path, folding));
    if (old !== undefined && old !== path) pairs.set(path, old);
  }
  return pairs;
}
