/**
 * One flush of a whole filesystem (syncfs(2)), for the hub's large chunk passes: a first sync
 * stages thousands of chunk files per push, and flushing each on its own costs an open, an fsync
 * and a close per chunk (about 1.5 ms each on a busy disk), where one syncfs commits them together.
 *
 * The hub must keep answering while the disk works, so the call runs outside its event loop, in
 * coreutils' `sync --file-system` (a thin wrapper of syncfs that exits non-zero when it fails).
 * Any failure to run it answers false, and the caller falls back to flushing file by file.
 */

/** Flushes every dirty page of the filesystem holding `path`; true once it is on the disk. */
export type FileSystemFlush = (path: string) => Promise<boolean>;

/** The syncfs of the filesystem holding `path`, or false where it cannot be had. */
export const flushFileSystem: FileSystemFlush = async (path) => {
  if (process.platform !== 'linux') return false;
  try {
    const proc = Bun.spawn(['sync', '--file-system', path], {
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'ignore',
    });
    return (await proc.exited) === 0;
  } catch {
    // No `sync` on this system (spawn fails with ENOENT): flush file by file instead.
    return false;
  }
};
