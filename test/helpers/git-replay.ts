/**
 * Real edit histories for sync tests: the trees of one folder at the commits of a git repository
 * (this project's own clone), and replaying them onto a folder step by step as a checkout would:
 * changed files written, removed files deleted, folders left empty removed.
 */
import { chmodSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A file of a commit's tree: its blob and executable bit. */
export interface TreeFile {
  blob: string;
  exec: boolean;
}

/** The files of one folder at one commit, by path relative to the repository root. */
export type GitTree = ReadonlyMap<string, TreeFile>;

export interface History {
  commits: Array<{ hash: string; subject: string; tree: GitTree }>;
  /** The bytes of every blob any of the trees names. */
  blobs: ReadonlyMap<string, Uint8Array>;
}

function git(repo: string, args: string[], stdin?: string): Uint8Array {
  const result = Bun.spawnSync(['git', '-C', repo, ...args], {
    stdin: stdin === undefined ? 'ignore' : Buffer.from(stdin),
  });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout;
}

/**
 * The first `count` commits of `repo` that change `folder`, oldest first, along the first-parent
 * line (so the list is the same in every clone with the full history), with their trees of
 * `folder` and the bytes of every blob. Fewer commits when the history is shorter (a shallow
 * clone); throws when `repo` is not a git repository.
 */
export function loadHistory(repo: string, folder: string, count: number): History {
  const log = new TextDecoder()
    .decode(git(repo, ['log', '--reverse', '--first-parent', '--format=%H %s', '--', folder]))
    .split('\n')
    .filter((line) => line.length > 0)
    .slice(0, count);
  const commits = log.map((line) => {
    const hash = line.slice(0, 40);
    const tree = new Map<string, TreeFile>();
    const listing = new TextDecoder().decode(git(repo, ['ls-tree', '-r', '-z', hash, '--', folder]));
    for (const record of listing.split('\0')) {
      // "<mode> <type> <blob>\t<path>"; links and submodules are not files to write here.
      const match = /^(100644|100755) blob ([0-9a-f]{40})\t(.+)$/s.exec(record);
      if (match) tree.set(match[3]!, { blob: match[2]!, exec: match[1] === '100755' });
    }
    return { hash, subject: line.slice(41), tree };
  });
  const wanted = [...new Set(commits.flatMap((c) => [...c.tree.values()].map((f) => f.blob)))];
  return { commits, blobs: readBlobs(repo, wanted) };
}

/** The bytes of `blobs`, in one `git cat-file --batch`. */
function readBlobs(repo: string, blobs: readonly string[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (blobs.length === 0) return out;
  const bytes = git(repo, ['cat-file', '--batch'], `${blobs.join('\n')}\n`);
  let offset = 0;
  for (const blob of blobs) {
    // "<blob> blob <size>\n<bytes>\n"
    const headerEnd = bytes.indexOf(0x0a, offset);
    const header = new TextDecoder().decode(bytes.subarray(offset, headerEnd));
    const size = Number(header.split(' ')[2]);
    if (!header.startsWith(`${blob} blob `) || !Number.isInteger(size))
      throw new Error(`git cat-file: unexpected header ${header}`);
    out.set(blob, bytes.slice(headerEnd + 1, headerEnd + 1 + size));
    offset = headerEnd + 1 + size + 1;
  }
  return out;
}

/**
 * Turns `root`'s copy of tree `from` into tree `to` as `git checkout` would: writes every file
 * that is new or changed (content or executable bit), deletes every file `to` lacks, and removes
 * the folders that leaves empty. Returns the paths written and deleted.
 */
export function checkoutStep(
  root: string,
  from: GitTree,
  to: GitTree,
  blobs: ReadonlyMap<string, Uint8Array>,
): { written: string[]; deleted: string[] } {
  const written: string[] = [];
  const deleted: string[] = [];
  for (const [path, file] of to) {
    const before = from.get(path);
    if (before?.blob === file.blob && before.exec === file.exec) continue;
    const absolute = join(root, path);
    mkdirSync(dirname(absolute), { recursive: true });
    writeFileSync(absolute, blobs.get(file.blob)!);
    chmodSync(absolute, file.exec ? 0o755 : 0o644);
    written.push(path);
  }
  for (const path of from.keys()) {
    if (to.has(path)) continue;
    rmSync(join(root, path), { force: true });
    deleted.push(path);
    removeEmptyFolders(root, dirname(path));
  }
  return { written, deleted };
}

/** Removes `folder` (relative to `root`) and its parents while they are empty. */
function removeEmptyFolders(root: string, folder: string): void {
  for (let current = folder; current !== '.' && current !== ''; current = dirname(current)) {
    const absolute = join(root, current);
    try {
      if (readdirSync(absolute).length > 0) return;
      rmdirSync(absolute);
    } catch {
      return;
    }
  }
}
