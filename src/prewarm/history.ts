/**
 * Reads a repository's commit history as the co-change model wants it: each non-merge commit's
 * changed paths, oldest first. The only git I/O of prediction.
 */
import { simpleGit } from 'simple-git';
import type { PathFilter } from './path-filter.ts';

/** One commit: its hash, its commit time (Unix seconds) and the paths it changed, in git's order. */
export interface CommitChanges {
  hash: string;
  time: number;
  files: string[];
}

/** Options for {@link readHistory}. */
export interface HistoryOptions {
  /** How many of the latest commits to read. */
  maxCommits: number;
  /** Paths kept out of the model (`.prewarm-ignore`); commits left with no path are dropped. */
  filter?: PathFilter;
}

const RECORD = '\u001e';

/**
 * The latest `maxCommits` non-merge commits reachable from HEAD in `repository`, oldest first.
 * Rejects when `repository` is not a git work tree or has no commits.
 */
export async function readHistory(repository: string, options: HistoryOptions): Promise<CommitChanges[]> {
  const output = await simpleGit({ baseDir: repository, maxConcurrentProcesses: 1 }).raw([
    // Unquoted paths: git would otherwise escape non-ASCII names in double quotes.
    '-c',
    'core.quotePath=false',
    'log',
    '--no-merges',
    '--name-only',
    '--no-renames',
    '--format=%x1e%H %ct',
    `--max-count=${Math.max(1, Math.floor(options.maxCommits))}`,
  ]);
  return parseLog(output, options.filter).reverse();
}

/** Parses the output of the `git log` call above; newest first, as git prints it. */
export function parseLog(output: string, filter?: PathFilter): CommitChanges[] {
  const commits: CommitChanges[] = [];
  for (const record of output.split(RECORD)) {
    const [header, ...lines] = record.split('\n');
    const [hash, time] = (header ?? '').trim().split(' ');
    if (!hash) continue;
    const files = lines.map((line) => line.trim()).filter((line) => line !== '' && !filter?.(line));
    if (files.length > 0) commits.push({ hash, time: Number(time), files });
  }
  return commits;
}

/**
 * Paths with uncommitted changes in the work tree at `repository` (staged, unstaged or
 * untracked), `/`-separated and relative to the repository root: "the files changed now".
 */
export async function readWorkingChanges(repository: string, filter?: PathFilter): Promise<string[]> {
  const status = await simpleGit({ baseDir: repository, maxConcurrentProcesses: 1 }).status();
  return status.files.map((file) => file.path).filter((path) => !filter?.(path));
}
