/**
 * What an agent does with a remote version of a path its own ignore rules match.
 *
 * The ignore files sync, so both sides share their patterns; a peer pushes a path those patterns
 * match only when git tracks it there (a forced `git add -f`, a branch that commits generated
 * files), or for the moment a rule change takes to reach it. Such a version is written here too,
 * as long as that loses nothing: this side holds no file of its own at the path (nothing, the
 * last synced version, or the remote content already). The agent's own defaults (`.git/`,
 * `node_modules/` unless synced) are options of this agent, not shared rules: they always win.
 */
import { DELETED, type EntryContent, sameContent } from './entry.ts';
import type { IgnoreRules } from './ignore.ts';

/**
 * True when the remote version of `path` is to be dropped (neither written nor recorded).
 *
 * Invariant relied on by the caller: a version that is not dropped goes through the ordinary
 * reconcile rules, which write it only when the disk holds the base, so it never destroys an edit.
 */
export function dropsIgnoredRemote(
  rules: IgnoreRules,
  path: string,
  local: EntryContent,
  base: EntryContent | undefined,
  remote: EntryContent,
): boolean {
  const isDir = remote.kind === 'dir' || local.kind === 'dir' || base?.kind === 'dir';
  if (!rules.isIgnored(path, isDir)) return false;
  if (rules.isSkippedByDefault(path, isDir)) return true;
  // A local file that never synced (a build output of this side, say) is this side's own: keep it.
  const ownLocal = !sameContent(local, base ?? DELETED) && !sameContent(local, remote);
  return ownLocal;
}
