/**
 * What the agent reads from git: the current branch (from .git/HEAD, cheap enough for every
 * batch) and the tracked paths (so that a tracked file is synced even when ignored).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';

/** The branch name, a detached commit id, or undefined when DIR is not a git work tree. */
export async function currentBranch(root: string): Promise<string | undefined> {
  try {
    const head = (await readFile(join(root, '.git', 'HEAD'), 'utf8')).trim();
    return head.startsWith('ref: refs/heads/') ? head.slice('ref: refs/heads/'.length) : head.slice(0, 12);
  } catch {
    return undefined;
  }
}

/** True while git holds its index lock (a checkout or commit is being written). */
export async function gitBusy(root: string): Promise<boolean> {
  try {
    await stat(join(root, '.git', 'index.lock'));
    return true;
  } catch {
    return false;
  }
}

/** Paths git tracks in the work tree; empty when DIR is not a git work tree. */
export async function trackedPaths(root: string): Promise<Set<string>> {
  try {
    await stat(join(root, '.git'));
  } catch {
    return new Set();
  }
  try {
    const out = await simpleGit(root).raw(['ls-files', '-z']);
    return new Set(out.split('\0').filter((p) => p.length > 0));
  } catch {
    return new Set();
  }
}
