/**
 * Writing verified package tarballs into a staging node_modules the way npm lays them out: each
 * package's files under its folder (tarball.ts says which and with what modes), folders made as
 * files need them (with the umask's default mode, as npm makes them), then the `.bin` links the
 * lockfile implies, their targets made executable.
 *
 * Invariants relied on: callers pass only tarballs whose sha512 matched the lockfile; package
 * paths come from a parsed manifest (under node_modules, never `..`); tarball paths are relative
 * and checked; no link exists in the tree until every file is written, so no write goes through
 * one.
 */
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { binLinks, type LockedPackage } from './package-lock.ts';
import { packageFiles } from './tarball.ts';

/**
 * File operations in flight. Creating files is mostly kernel time; a few at once keep both the
 * disk queue and the cores busy, where one at a time leaves them idle between calls.
 */
const WRITES_IN_FLIGHT = 6;

/** Runs `work` on every item, at most `limit` at once. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Writes packages into one staging root (the folder that holds `node_modules`). */
export class PackageTreeWriter {
  /** Every file written, relative to the root: the `.bin` links are made only to these. */
  private readonly written = new Set<string>();
  /** Folder creations, shared so that concurrent writes into one folder wait for the same mkdir. */
  private readonly folders = new Map<string, Promise<unknown>>();
  private readonly umask = process.umask();
  files = 0;
  bytes = 0;

  constructor(private readonly root: string) {}

  private folder(path: string): Promise<unknown> {
    let made = this.folders.get(path);
    if (!made) {
      made = mkdir(join(this.root, path), { recursive: true });
      this.folders.set(path, made);
    }
    return made;
  }

  /** Unpacks the (verified) tarball `tgz` of the package at `packagePath`. */
  async writePackage(packagePath: string, tgz: Uint8Array): Promise<void> {
    const files = packageFiles(tgz);
    const defaultMode = 0o666 & ~this.umask;
    await this.folder(packagePath);
    await eachLimited(files, WRITES_IN_FLIGHT, async (file) => {
      const path = `${packagePath}/${file.path}`;
      await this.folder(dirname(path));
      const target = join(this.root, path);
      // New files get 0o666 minus the umask; only other modes (executables) need a chmod, which
      // is cheaper than passing the mode to every write.
      await writeFile(target, file.data);
      const mode = file.mode & ~this.umask;
      if (mode !== defaultMode) await chmod(target, mode);
      this.written.add(path);
      this.bytes += file.data.length;
      this.files++;
    });
  }

  /**
   * Makes the `.bin` links of the written packages, last: before them the tree holds no link.
   * Bundled packages count as written when their package.json arrived with their parent.
   */
  async linkBins(packages: readonly LockedPackage[]): Promise<number> {
    const installed = new Set(
      packages.filter((pkg) => this.written.has(`${pkg.path}/package.json`)).map((pkg) => pkg.path),
    );
    const links = binLinks(packages, installed, (path) => this.written.has(path));
    for (const link of links) {
      await this.folder(dirname(link.path));
      await symlink(link.target, join(this.root, link.path));
      // As npm's bin-links: an executable is rwx for everyone the umask allows.
      await chmod(join(this.root, link.file), 0o777 & ~this.umask);
    }
    return links.length;
  }
}
