/**
 * Trees on disk for the benches: reading a whole tree into memory, applying one step of history
 * the way `git checkout` does (rewrite changed files, delete removed ones), and waiting until a
 * mirror holds given content, seen through filesystem events with a polling safety net.
 */
import {
  type FSWatcher,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TEMP_FILE_PREFIX } from '../../../src/core/paths.ts';

/** Where downloads and generated fixtures are kept between runs. */
export const CACHE_DIR =
  process.env.WARMSYNC_BENCH_CACHE ?? join(process.env.HOME ?? tmpdir(), '.cache', 'warmsync-bench');

/** A fresh scratch folder for one bench, removed by the caller. */
export function scratchDir(name: string): string {
  const dir = join(tmpdir(), `warmsync-bench-${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Every regular file under `root`, by relative path with '/' separators. */
export function readTree(root: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (folder: string) => {
    for (const d of readdirSync(join(root, folder), { withFileTypes: true })) {
      const rel = folder === '' ? d.name : `${folder}/${d.name}`;
      if (d.isDirectory()) walk(rel);
      else if (d.isFile()) out.set(rel, new Uint8Array(readFileSync(join(root, rel))));
    }
  };
  walk('');
  return out;
}

/** Count and total size of the regular files under `root` (agent temp files excluded). */
export async function countTree(root: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (folder: string): Promise<void> => {
    let names: import('node:fs').Dirent[];
    try {
      names = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    const subfolders: string[] = [];
    await Promise.all(
      names.map(async (d) => {
        if (d.name.startsWith(TEMP_FILE_PREFIX)) return;
        const path = join(folder, d.name);
        if (d.isDirectory()) subfolders.push(path);
        else if (d.isFile()) {
          const stats = await lstat(path);
          files++;
          bytes += stats.size;
        }
      }),
    );
    for (const sub of subfolders) await walk(sub);
  };
  await walk(root);
  return { files, bytes };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** What a path must hold on the mirror: these bytes, or nothing (null). */
export type Expectation = Map<string, Uint8Array | null>;

/**
 * Makes `root` go from tree `from` to tree `to` the way a checkout does: files whose bytes differ
 * are rewritten in place, new ones created, removed ones deleted with their emptied folders.
 * Returns the changed paths with their new content (null for deleted).
 */
export function applyStep(
  root: string,
  from: Map<string, Uint8Array>,
  to: Map<string, Uint8Array>,
): Expectation {
  const changed: Expectation = new Map();
  for (const [path, bytes] of to) {
    const old = from.get(path);
    if (old && sameBytes(old, bytes)) continue;
    changed.set(path, bytes);
  }
  for (const path of from.keys()) if (!to.has(path)) changed.set(path, null);
  for (const [path, bytes] of changed) {
    const absolute = join(root, path);
    if (bytes === null) {
      unlinkSync(absolute);
      pruneEmptyParents(root, dirname(path));
    } else {
      mkdirSync(dirname(absolute), { recursive: true });
      writeFileSync(absolute, bytes);
    }
  }
  return changed;
}

function pruneEmptyParents(root: string, folder: string): void {
  while (folder !== '.' && folder !== '') {
    try {
      rmdirSync(join(root, folder));
    } catch {
      return;
    }
    folder = dirname(folder);
  }
}

/** Writes a whole tree under `root`. */
export function writeTree(root: string, tree: Map<string, Uint8Array>): void {
  mkdirSync(root, { recursive: true });
  for (const [path, bytes] of tree) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
}

function holds(root: string, path: string, want: Uint8Array | null): boolean {
  const absolute = join(root, path);
  if (want === null) {
    try {
      lstatSync(absolute);
      return false;
    } catch {
      return true;
    }
  }
  try {
    return sameBytes(new Uint8Array(readFileSync(absolute)), want);
  } catch {
    return false;
  }
}

/**
 * Watches a mirror folder and resolves waits as soon as every expected path holds its content.
 * A filesystem event on a pending path triggers its check at once; every path still pending is
 * also re-checked on a timer (1 ms for a handful of paths, 10 ms otherwise) so nothing is missed.
 */
export class MirrorWatch {
  private readonly watcher: FSWatcher;
  private pending: Expectation = new Map();
  private done: ((at: number) => void) | undefined;

  constructor(private readonly root: string) {
    this.watcher = watch(root, { recursive: true }, (_event, name) => {
      if (name === null || name === undefined || !this.done) return;
      const path = String(name);
      const want = this.pending.get(path);
      if (want === undefined) {
        // A folder renamed or removed whole names only itself: look at what is expected below it.
        const below = `${path}/`;
        for (const [p, w] of this.pending)
          if (p.startsWith(below) && holds(this.root, p, w)) this.pending.delete(p);
      } else if (holds(this.root, path, want)) this.pending.delete(path);
      this.settle();
    });
  }

  private settle(): void {
    if (this.pending.size > 0 || !this.done) return;
    const done = this.done;
    this.done = undefined;
    done(performance.now());
  }

  /** Resolves with performance.now() at the moment the last expected path was seen correct. */
  wait(expect: Expectation, timeoutMs = 60_000): Promise<number> {
    this.pending = new Map(expect);
    return new Promise((resolve, reject) => {
      const started = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const poll = () => {
        if (!this.done) return;
        for (const [path, want] of this.pending) if (holds(this.root, path, want)) this.pending.delete(path);
        this.settle();
        if (this.done) {
          if (performance.now() - started > timeoutMs) {
            this.done = undefined;
            reject(
              new Error(
                `mirror still differs after ${timeoutMs} ms at ${this.pending.size} path(s), e.g. ${[...this.pending.keys()].slice(0, 3).join(', ')}`,
              ),
            );
            return;
          }
          // Events do the work; polling is the fallback, kept light while many paths are pending.
          timer = setTimeout(poll, this.pending.size <= 8 ? 1 : 100);
        }
      };
      this.done = (at) => {
        if (timer) clearTimeout(timer);
        resolve(at);
      };
      poll();
    });
  }

  close(): void {
    this.watcher.close();
  }
}
