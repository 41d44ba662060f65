/**
 * What a cycle looks at: the whole tree (a full scan, with the bases it no longer finds as
 * deletions) or the paths the watcher or the hub named, with what those paths imply (the contents
 * of a folder that went away). Ignored paths are dropped here unless a remote version waits for
 * them.
 */
import { exists, type ManifestEntry } from '../core/entry.ts';
import { IgnoreRules } from '../core/ignore.ts';
import { ancestorPaths } from '../core/paths.ts';
import type { GitRefreshing } from './git-follow.ts';
import type { LocalTree, MovedBases, Observation, ObserveBatch, ReadPolicy } from './local-tree.ts';
import type { Scheduler } from './scheduler.ts';
import type { AgentState, BaseRecord } from './state.ts';

export interface ObserveDeps {
  tree: LocalTree;
  state: AgentState;
  /** Remote versions waiting, by path: each is observed by a full scan, ignored or not. */
  pending: ReadonlyMap<string, ManifestEntry>;
  /** Told when what was seen calls for a full scan next (a new folder, a changed ignore file), and how long a scan took. */
  scheduler: Pick<Scheduler, 'wantFullScan' | 'noteScanDuration'>;
}

/** Who named a cycle's paths. */
export interface NamedBy {
  /**
   * Filesystem events: their content is read even when their stat looks unchanged, unless the
   * path is in `renamedOnly` and its stat proves the agent's own write (see ReadPolicy). Paths
   * named by the hub are read only when their stat changed (the stat cache proves the rest equal
   * to their base).
   */
  fromWatcher: boolean;
  renamedOnly?: ReadonlySet<string>;
}

/**
 * Observes the paths of a cycle, read as `named` says. `gitView`:
 * what git tracks is being read again; the named paths are observed meanwhile. A full scan waits
 * for it; named paths wait only when their verdict can depend on it (see needsTrackedPaths).
 */
export async function observeCycle(
  deps: ObserveDeps,
  paths: Set<string> | 'full',
  named: NamedBy,
  gitView?: GitRefreshing,
): Promise<Map<string, Observation>> {
  const { tree, state, pending } = deps;
  const out = new Map<string, Observation>();
  const batch = tree.batch();
  if (paths === 'full') {
    await gitView?.done;
    const started = performance.now();
    const { found, unknownFolders } = await tree.scan((p) => state.base(p));
    deps.scheduler.noteScanDuration(performance.now() - started);
    for (const [path, obs] of found) out.set(path, obs);
    const unknownBelow = (path: string) =>
      unknownFolders.size > 0 && ancestorPaths(path).some((folder) => unknownFolders.has(folder));
    // Paths first: only the bases the scan did not find are unpacked.
    for (const path of state.bases.keys()) {
      if (out.has(path)) continue;
      const base = state.base(path)!;
      if (!exists(base.content)) continue;
      if (tree.rules.isIgnored(path, base.content.kind === 'dir')) continue;
      // Below a folder that could not be listed, absence proves nothing: unknown, not deleted.
      if (unknownBelow(path)) {
        out.set(path, { content: base.content, unknown: 'its folder cannot be listed' });
        continue;
      }
      out.set(path, { content: { kind: 'deleted' } });
    }
    for (const path of pending.keys()) {
      if (out.has(path)) continue;
      out.set(
        path,
        unknownBelow(path)
          ? { content: { kind: 'deleted' }, unknown: 'its folder cannot be listed' }
          : await tree.observe(path, state.base(path), 'if-stat-changed', batch),
      );
    }
    return out;
  }
  let rulesChanged = false;
  const newFolders: string[] = [];
  const observeNamed = (some: readonly string[], movedFrom?: MovedBases) =>
    Promise.all(
      some.map(async (path) => {
        if (IgnoreRules.isIgnoreFile(path)) rulesChanged = true;
        const obs = await tree.observe(path, state.base(path), readPolicy(named, path), batch, movedFrom);
        out.set(path, obs);
        if (obs.content.kind === 'dir' && state.base(path)?.content.kind !== 'dir') newFolders.push(path);
      }),
    );
  // Known folders first: one found gone (moved away) lends its files' bases to the new paths, so
  // a moved folder's files are known by their stat instead of read again.
  const knownFolders: string[] = [];
  const others: string[] = [];
  for (const path of paths) (state.base(path)?.content.kind === 'dir' ? knownFolders : others).push(path);
  await observeNamed(knownFolders);
  const goneInside = basesBelowGoneFolders(deps, out);
  const movedFrom = movedBasesOf(goneInside);
  await observeNamed(others, movedFrom);
  if (gitView && ((await gitView.rules) || needsTrackedPaths(tree, state, out, newFolders)))
    await gitView.done;
  await observeContentsOfNewFolders(deps, out, newFolders, batch, movedFrom);
  await observeContentsOfGoneFolders(deps, out, goneInside, batch);
  if (rulesChanged) deps.scheduler.wantFullScan();
  for (const [path, obs] of out) {
    const isDir = obs.content.kind === 'dir' || state.base(path)?.content.kind === 'dir';
    if (tree.rules.isIgnored(path, isDir) && !pending.has(path)) out.delete(path);
  }
  return out;
}

function readPolicy(named: NamedBy, path: string): ReadPolicy {
  if (!named.fromWatcher) return 'if-stat-changed';
  return named.renamedOnly?.has(path) ? 'unless-proven' : 'always-read';
}

/**
 * Whether judging `observed` by the ignore rules needs what git tracks now: git's tracking only
 * overrides a pattern (a tracked file syncs even where a pattern ignores it), so a path that no
 * pattern matches, itself or through a folder above it, syncs either way. A new folder is walked
 * with the rules, and a folder a pattern ignores inside it is entered only while it holds tracked
 * files, so new folders wait too.
 */
function needsTrackedPaths(
  tree: LocalTree,
  state: AgentState,
  observed: ReadonlyMap<string, Observation>,
  newFolders: readonly string[],
): boolean {
  if (newFolders.length > 0) return true;
  for (const [path, obs] of observed) {
    const isDir = obs.content.kind === 'dir' || state.base(path)?.content.kind === 'dir';
    if (tree.rules.isIgnoredByPatterns(path, isDir)) return true;
  }
  return false;
}

/**
 * A new folder's files may have been written (or moved in with it) before the watcher watched it,
 * so no event names them: each new folder is walked, in the same cycle, so that a moved folder's
 * files arrive in the batch that deletes them at the old place (a peer then takes their content
 * from its old copies) and a copied one needs no scan of the whole tree. A folder below another
 * new one is walked with it; an ignored one is not walked.
 */
async function observeContentsOfNewFolders(
  deps: ObserveDeps,
  out: Map<string, Observation>,
  folders: readonly string[],
  batch: ObserveBatch,
  movedFrom: MovedBases | undefined,
): Promise<void> {
  const { tree, state } = deps;
  const walked: string[] = [];
  for (const folder of [...folders].sort((a, b) => a.length - b.length)) {
    if (walked.some((w) => folder.startsWith(`${w}/`))) continue;
    if (tree.rules.isIgnored(folder, true)) continue;
    walked.push(folder);
    const { found, unknownFolders } = await tree.scanFolder(
      folder,
      (p) => state.base(p),
      batch,
      movedFrom,
      out,
    );
    for (const [path, obs] of found) if (!out.has(path)) out.set(path, obs);
    // What could not be listed stays as it was: its paths are simply not observed this cycle.
    if (unknownFolders.size > 0) deps.scheduler.wantFullScan();
  }
}

/**
 * The bases below a folder this cycle observed gone (moved away or removed), by path, of the
 * paths not observed themselves yet: the watcher names only the folder. A folder whose state is
 * unknown is not gone: its contents are left alone.
 */
function basesBelowGoneFolders(
  deps: ObserveDeps,
  out: ReadonlyMap<string, Observation>,
): Map<string, BaseRecord> {
  const { state } = deps;
  const inside = new Map<string, BaseRecord>();
  const gone = [...out]
    .filter(
      ([path, obs]) =>
        !obs.unknown && obs.content.kind === 'deleted' && state.base(path)?.content.kind === 'dir',
    )
    .map(([path]) => `${path}/`);
  if (gone.length === 0) return inside;
  // Outermost folders only: each base path is tested against as few prefixes as can be.
  const outermost = gone.filter((g) => !gone.some((other) => other !== g && g.startsWith(other)));
  // Paths first: only the bases below a gone folder are unpacked, each once.
  for (const path of state.bases.keys()) {
    if (!outermost.some((g) => path.startsWith(g)) || out.has(path)) continue;
    const base = state.base(path)!;
    if (exists(base.content)) inside.set(path, base);
  }
  return inside;
}

/** `bases` by inode, the files among them: where a moved folder's files came from. */
function movedBasesOf(bases: ReadonlyMap<string, BaseRecord>): MovedBases | undefined {
  if (bases.size === 0) return undefined;
  const byInode = new Map<number, BaseRecord[]>();
  for (const base of bases.values()) {
    if (base.content.kind !== 'file' || !base.stat) continue;
    const same = byInode.get(base.stat.ino);
    if (same) same.push(base);
    else byInode.set(base.stat.ino, [base]);
  }
  return byInode;
}

/**
 * A folder moved away or removed takes its contents with it: its contents (`inside`, see
 * `basesBelowGoneFolders`) are observed in the same cycle, so their deletions travel in the same
 * batch as the folder's and a peer removes the folder instead of finding it not empty.
 */
async function observeContentsOfGoneFolders(
  deps: ObserveDeps,
  out: Map<string, Observation>,
  inside: ReadonlyMap<string, BaseRecord>,
  batch: ObserveBatch,
): Promise<void> {
  const { tree } = deps;
  await Promise.all(
    [...inside]
      .filter(([path]) => !out.has(path))
      .map(async ([path, base]) => out.set(path, await tree.observe(path, base, 'if-stat-changed', batch))),
  );
}

/**
 * True when the cycle sees a local deletion: a path whose base exists is observed deleted (and
 * not merely unknown), and its content did not turn up elsewhere in the same cycle. Such watcher
 * cycles wait for the deletion burst to end, so that one `rm -rf` is judged as one batch. A move
 * (`mv a b`, a folder renamed) arrives whole in one event and loses no content: its deletions go
 * at once, in the batch that adds the same content at the new paths.
 */
export function seesLocalDeletion(observed: ReadonlyMap<string, Observation>, state: AgentState): boolean {
  let arrived: Arrivals | undefined;
  for (const [path, obs] of observed) {
    if (obs.content.kind !== 'deleted' || obs.unknown) continue;
    const base = state.base(path);
    if (base === undefined || !exists(base.content)) continue;
    arrived ??= arrivals(observed, state);
    if (base.content.kind === 'file' && arrived.hashes.has(base.content.hash)) continue;
    if (base.content.kind === 'dir' && arrived.folders) continue;
    return true;
  }
  return false;
}

interface Arrivals {
  /** Content hashes of the files observed at paths whose base does not hold them. */
  hashes: Set<string>;
  /** A folder was observed where the base has none. */
  folders: boolean;
}

function arrivals(observed: ReadonlyMap<string, Observation>, state: AgentState): Arrivals {
  const out: Arrivals = { hashes: new Set(), folders: false };
  for (const [path, obs] of observed) {
    if (obs.unknown) continue;
    const base = state.base(path)?.content;
    if (obs.content.kind === 'file' && (base?.kind !== 'file' || base.hash !== obs.content.hash))
      out.hashes.add(obs.content.hash);
    else if (obs.content.kind === 'dir' && base?.kind !== 'dir') out.folders = true;
  }
  return out;
}
