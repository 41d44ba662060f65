/**
 * Saving the warmed npm cache with actions/cache's own library, for repositories with no warmsync
 * server: the next job restores it with `actions/cache` (or `actions/cache/restore`) under the
 * same key and the same path list.
 */
import * as cache from '@actions/cache';

/** What happened to the save, in one sentence for the log and the summary. */
export interface CacheSave {
  saved: boolean;
  note: string;
}

/**
 * Saves `path` (exactly as the user wrote it, `~/.npm` included: actions/cache versions an entry
 * by its path strings, so a restore matches only with the same list) under `key`. Never throws:
 * no cache service (outside Actions), an existing entry for the key, or a failed upload is a note.
 */
export async function saveNpmCache(path: string, key: string): Promise<CacheSave> {
  if (!cache.isFeatureAvailable()) {
    return {
      saved: false,
      note: 'The Actions cache service is not available to this step: the npm cache was not saved.',
    };
  }
  try {
    const id = await cache.saveCache([path], key);
    if (id === -1)
      return { saved: false, note: `Saving ${path} under ${key} failed (see the warning above).` };
    return { saved: true, note: `Saved ${path} to the Actions cache under ${key}.` };
  } catch (error) {
    if (error instanceof cache.ReserveCacheError) {
      return { saved: false, note: `An Actions cache entry for ${key} exists already; it was kept.` };
    }
    return { saved: false, note: `Saving ${path} under ${key} failed: ${(error as Error).message}` };
  }
}
