/**
 * What the agent reads from git: the current branch (from .git/HEAD, cheap enough for every
 * batch), the tracked paths (so that a tracked file is synced even when ignored), and git's own
 * exclude files (`core.excludesFile`, `.git/info/exclude`).
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
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

/**
 * True while git holds its index lock (a checkout, pull or commit is being written) or is moving
 * HEAD (which a checkout does right after it lets go of the index).
 */
export function gitBusy(root: string): Promise<boolean> {
  return gitHasAny(root, ['index.lock', 'HEAD.lock']);
}

/** Whether any of `names` is there in the repository's .git folder. */
async function gitHasAny(root: string, names: readonly string[]): Promise<boolean> {
  const there = (name: string) =>
    stat(join(root, '.git', name)).then(
      () => true,
      () => false,
    );
  return (await Promise.all(names.map(there))).includes(true);
}

/**
 * True while git runs a sequence of steps, each taking and letting go of the index lock: a rebase
 * (`rebase-merge`, or `rebase-apply` as `git am` uses too), a cherry-pick or revert of a range
 * (`sequencer`). Also true while such a sequence is stopped on a conflict.
 */
export function gitSequencing(root: string): Promise<boolean> {
  return gitHasAny(root, ['rebase-merge', 'rebase-apply', 'sequencer']);
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

/**
 * The file git reads as `core.excludesFile`: the configured one (asked of git itself, so every
 * config file and `~` expansion count; a relative name is taken from the work tree's top), else
 * git's default `$XDG_CONFIG_HOME/git/ignore`, or `~/.config/git/ignore`.
 */
export async function excludesFilePath(root: string): Promise<string> {
  let configured = '';
  try {
    configured = (await simpleGit(root).raw(['config', '--path', '--get', 'core.excludesFile'])).trim();
  } catch {
    // No git, or no repository here: git's default applies.
  }
  if (configured) return resolve(root, configured);
  return join(gitConfigHome(), 'ignore');
}

/** The text of git's exclude files, lowest precedence first: `core.excludesFile`, `.git/info/exclude`. */
export async function repoExcludes(root: string, excludesFile: string): Promise<string[]> {
  const read = (path: string) => readFile(path, 'utf8').catch(() => '');
  return [await read(excludesFile), await read(join(root, '.git', 'info', 'exclude'))];
}

/** Git's configuration files that can name `core.excludesFile` (the repository's and the user's). */
export function gitConfigFiles(root: string): string[] {
  return [join(root, '.git', 'config'), join(gitConfigHome(), 'config'), join(homedir(), '.gitconfig')];
}

/**
 * A cheap fingerprint of some files (size, mtime, ctime, inode of each; '-' for a missing one),
 * to learn without reading them whether git rewrote any.
 */
export async function filesStamp(paths: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    paths.map((path) =>
      stat(path).then(
        (s) => `${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`,
        () => '-',
      ),
    ),
  );
  return parts.join('|');
}

function gitConfigHome(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  return xdg ? join(xdg, 'git') : join(homedir(), '.config', 'git');
}
