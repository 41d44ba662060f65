/**
 * The per-change rules of a commit, shared by every store: case-collision check, `resolvePush`,
 * conflict copies, sequence numbers. Pure: it reads the manifest through a `ManifestView` and
 * returns the entries to write; the store persists them in the same transaction.
 *
 * A view may not hold every row (PostgreSQL loads rows in batches rather than one round trip per
 * lookup). It then answers `UNKNOWN`, the plan comes back incomplete with the rows it lacked, and
 * the store loads them and plans again. Planning is deterministic, so the final plan is the one a
 * view holding the whole manifest would give.
 */
import { conflictCopyPath } from '../../core/conflict.ts';
import { DELETED, exists, type ManifestEntry, sameContent } from '../../core/entry.ts';
import { checkRelativePath, collisionKey, parentPath } from '../../core/paths.ts';
import type { ChangeResult } from '../../core/protocol.ts';
import { HUB_ID, resolvePush } from '../../core/resolve.ts';
import { incrementVector, mergeVectors, type VersionVector } from '../../core/vector.ts';
import type { CommitOutcome, CommitRequest, ConflictCopyMade } from './store.ts';

export const UNKNOWN: unique symbol = Symbol('unknown');

/** The workspace's manifest as it was when the transaction started. */
export interface ManifestView {
  entry(path: string): ManifestEntry | undefined | typeof UNKNOWN;
  /** Paths of live (non-deleted) entries whose collision key is `key`. */
  livePaths(key: string): readonly string[] | typeof UNKNOWN;
}

export type CommitPlan =
  | {
      complete: true;
      outcome: CommitOutcome;
      /** The last entry written to each path: what the store must upsert. */
      finalEntries: ManifestEntry[];
    }
  | { complete: false; paths: Set<string>; keys: Set<string> };

/**
 * Decides every change of `request` against `view`, numbering accepted versions from `head + 1`.
 *
 * Invariants: the caller holds the workspace's write lock for the whole transaction (so `head` is
 * the latest and no other writer changes the manifest before the plan is persisted); later changes
 * of the batch see the versions earlier ones wrote, exactly as if each were written at once.
 */
export function planCommit(
  request: CommitRequest,
  head: number,
  view: ManifestView,
  /** The merged vectors of the workspace's expired tombstones (see resolvePush). */
  expired?: VersionVector,
): CommitPlan {
  const { agent, branch, changes } = request;
  const written = new Map<string, ManifestEntry>();
  const writtenByKey = new Map<string, Set<string>>();
  const needPaths = new Set<string>();
  const needKeys = new Set<string>();

  /** The path's version after the batch so far; `known` is false when the view lacks its row. */
  const lookup = (path: string): { entry: ManifestEntry | undefined; known: boolean } => {
    const mine = written.get(path);
    if (mine) return { entry: mine, known: true };
    const found = view.entry(path);
    if (found === UNKNOWN) {
      needPaths.add(path);
      return { entry: undefined, known: false };
    }
    return { entry: found, known: true };
  };
  const entryNow = (path: string): ManifestEntry | undefined => lookup(path).entry;
  const liveCollision = (path: string): string | undefined => {
    const key = collisionKey(path);
    const base = view.livePaths(key);
    if (base === UNKNOWN) needKeys.add(key);
    const candidates = new Set([...(base === UNKNOWN ? [] : base), ...(writtenByKey.get(key) ?? [])]);
    for (const other of candidates) {
      if (other === path) continue;
      const now = entryNow(other);
      if (now && exists(now.content)) return other;
    }
    return undefined;
  };

  /**
   * Folders that, with every folder above them, hold no live file or link after the batch so far.
   * Closed upwards (a folder's ancestors are all in when it is), so writing a file or link at a
   * path not in it can make no folder in it unclear.
   */
  const clearFolders = new Set<string>();

  let conflicts = 0;
  const conflictCopies: ConflictCopyMade[] = [];
  const results: ChangeResult[] = [];
  const entries: ManifestEntry[] = [];
  const write = (path: string, content: ManifestEntry['content'], vector: VersionVector, author: string) => {
    if (exists(content) && content.kind !== 'dir' && clearFolders.has(path)) {
      // A file or link where a clear folder was: it and every folder below it are clear no more.
      for (const folder of clearFolders)
        if (folder === path || folder.startsWith(`${path}/`)) clearFolders.delete(folder);
    }
    head += 1;
    const entry: ManifestEntry = { path, content, vector, seq: head, agent: author, branch };
    written.set(path, entry);
    const key = collisionKey(path);
    const paths = writtenByKey.get(key) ?? new Set<string>();
    paths.add(path);
    writtenByKey.set(key, paths);
    entries.push(entry);
    return head;
  };

  /**
   * A vector for a version the hub writes at `path` on its own account (a conflict copy, a moved
   * subtree, a tombstone): it dominates whatever the path held, so every agent applies it.
   */
  const hubVector = (path: string, ...vectors: VersionVector[]): VersionVector => {
    let merged: VersionVector = entryNow(path)?.vector ?? {};
    for (const v of vectors) merged = mergeVectors(merged, v);
    return incrementVector(merged, HUB_ID);
  };
  /**
   * Where a conflict copy goes: the first of `NAME.conflict-…`, `NAME.conflict-…-2`, … that is
   * free (no entry, or a tombstone) or already holds the same content, so a copy never lands on,
   * or under, something live.
   */
  const freeCopyPath = (preferred: string, content: ManifestEntry['content']): string => {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? preferred : numbered(preferred, n);
      const existing = entryNow(candidate);
      if (!existing || !exists(existing.content) || sameContent(existing.content, content)) {
        if (!liveNonFolderAncestor(candidate)) return candidate;
      }
    }
  };
  /**
   * The shallowest ancestor of `path` that is live and not a folder, after the batch so far. Only
   * the folders below the deepest one known clear are looked up (see clearFolders): without that,
   * every change looked up every folder above it, and a 20 KB push of 5,000 paths 2,000 folders
   * deep was 10 million lookups in one transaction, during which the hub answered nobody.
   */
  const liveNonFolderAncestor = (path: string): string | undefined => {
    const unchecked: string[] = [];
    for (
      let folder = parentPath(path);
      folder !== '' && !clearFolders.has(folder);
      folder = parentPath(folder)
    )
      unchecked.push(folder);
    // Shallowest first; everything above unchecked[last] is clear. A folder joins clearFolders only
    // when every folder above it is in, and only on a definite answer (a view lacking the row
    // answers again in the next round).
    let definite = true;
    for (let i = unchecked.length - 1; i >= 0; i--) {
      const folder = unchecked[i]!;
      const { entry, known } = lookup(folder);
      if (entry && exists(entry.content) && entry.content.kind !== 'dir') return folder;
      definite &&= known;
      if (definite) clearFolders.add(folder);
    }
    return undefined;
  };

  for (const change of changes) {
    // No entry under a file or a link. A pushed entry whose ancestor is one (the other side made
    // a file where this agent made a folder) moves, with its whole subtree, under the ancestor's
    // conflict name; the pushed path gets a tombstone, so the pushing agent moves it too.
    const blocker = exists(change.content) ? liveNonFolderAncestor(change.path) : undefined;
    if (blocker) {
      const movedRoot = conflictCopyPath(blocker, agent, 'dir');
      const moved = freeCopyPath(`${movedRoot}${change.path.slice(blocker.length)}`, change.content);
      const unfit = unfitCopy(change.path, moved);
      if (unfit) {
        results.push(unfit);
        continue;
      }
      conflicts += 1;
      write(moved, change.content, hubVector(moved, { [agent]: 1 }), agent);
      const seq = write(change.path, DELETED, hubVector(change.path, change.vector), HUB_ID);
      results.push({
        status: 'conflict',
        path: change.path,
        seq,
        copyPath: moved,
        reason: 'first-to-hub-wins',
      });
      continue;
    }
    const current = entryNow(change.path);
    if (exists(change.content) && !(current && exists(current.content))) {
      const clash = liveCollision(change.path);
      if (clash) {
        results.push({
          status: 'rejected',
          path: change.path,
          code: 'case-collision',
          message: `differs from '${clash}' only by letter case or Unicode normalisation`,
        });
        continue;
      }
    }
    const resolution = resolvePush(current, { ...change, agent }, expired);
    switch (resolution.type) {
      case 'accept': {
        const seq = write(change.path, resolution.content, resolution.vector, agent);
        results.push({ status: 'accepted', path: change.path, seq, vector: resolution.vector });
        break;
      }
      case 'noop':
        results.push({ status: 'unchanged', path: change.path });
        break;
      case 'conflict': {
        const copyPath = resolution.copy
          ? freeCopyPath(resolution.copy.path, resolution.copy.content)
          : undefined;
        const unfit = copyPath === undefined ? undefined : unfitCopy(change.path, copyPath);
        if (unfit) {
          results.push(unfit);
          break;
        }
        conflicts += 1;
        const winnerAgent =
          resolution.reason === 'modify-beats-delete' && exists(change.content)
            ? agent
            : (current?.agent ?? agent);
        const seq = write(change.path, resolution.winner.content, resolution.winner.vector, winnerAgent);
        if (resolution.copy && copyPath !== undefined) {
          const existing = entryNow(copyPath);
          if (!existing || !sameContent(existing.content, resolution.copy.content)) {
            write(copyPath, resolution.copy.content, hubVector(copyPath, resolution.copy.vector), agent);
          }
          // Recorded so that `warmsync conflicts` lists it and `resolve` can settle it; a subtree
          // moved under a file (above) is not: its paths cannot come back while the file is there.
          conflictCopies.push({ path: change.path, copyPath, seq, keptAgent: winnerAgent, copyAgent: agent });
        }
        results.push({ status: 'conflict', path: change.path, seq, copyPath, reason: resolution.reason });
        break;
      }
    }
  }
  if (needPaths.size > 0 || needKeys.size > 0) return { complete: false, paths: needPaths, keys: needKeys };
  return {
    complete: true,
    outcome: { head, results, entries, conflicts, conflictCopies },
    finalEntries: [...written.values()],
  };
}

/**
 * The refusal of a change whose conflict copy cannot be named: a copy's name adds a tag to the
 * pushed path (and a number when the first choice is taken), which can take a path near the
 * bounds past them (over 4096 bytes, or a segment over 255). Such an entry is one that every
 * agent's catch-up refuses, so storing it would stop the whole workspace from syncing; refused,
 * nothing is lost: the pushing agent keeps its version and reports the path as a problem.
 */
function unfitCopy(path: string, copyPath: string): ChangeResult | undefined {
  // The pushed path passed the hub's rules (.git included); the tag only lengthens it.
  const check = checkRelativePath(copyPath, { allowGit: true });
  if (check.ok) return undefined;
  return {
    status: 'rejected',
    path,
    code: `conflict-copy:${check.code}`,
    message: `this version conflicts with the hub's, and its conflict copy cannot be named here: ${check.reason}`,
  };
}

/** `a.conflict-x-y.ts` numbered: `a.conflict-x-y-2.ts` (the number goes before the extension). */
function numbered(copyPath: string, n: number): string {
  const marker = copyPath.lastIndexOf('.conflict-');
  const dot = copyPath.indexOf('.', marker + 1);
  const slash = copyPath.indexOf('/', marker + 1);
  const end = [dot, slash].filter((i) => i > marker).reduce((a, b) => Math.min(a, b), copyPath.length);
  return `${copyPath.slice(0, end)}-${n}${copyPath.slice(end)}`;
}
