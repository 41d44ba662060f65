/** Reading what a test hub holds for a workspace, through its store. */
import { chunkBytes } from '../../src/core/chunk.ts';
import type { ManifestEntry } from '../../src/core/entry.ts';
import { fileHashFromChunks } from '../../src/core/hash.ts';
import type { Store } from '../../src/server/store/store.ts';

/** The workspace's entries, tombstones included, newest version of each path. */
export async function hubEntries(hub: { store: Store }, workspace: string): Promise<ManifestEntry[]> {
  return (await hub.store.changesSince(workspace, 0, 1_000_000)).entries;
}

/** The live paths of the workspace, sorted. */
export async function livePaths(hub: { store: Store }, workspace: string): Promise<string[]> {
  return (await hubEntries(hub, workspace))
    .filter((entry) => entry.content.kind !== 'deleted')
    .map((entry) => entry.path)
    .sort();
}

/** True when the hub's current version of `path` is a file holding exactly `text`. */
export async function hubHolds(
  hub: { store: Store },
  workspace: string,
  path: string,
  text: string,
): Promise<boolean> {
  const entry = await hub.store.entry(workspace, path);
  if (entry?.content.kind !== 'file') return false;
  const bytes = new TextEncoder().encode(text);
  return entry.content.hash === fileHashFromChunks(chunkBytes(bytes).map((chunk) => chunk.hash));
}
