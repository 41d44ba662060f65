/**
 * Writing remote versions to the local folder, safely:
 * - atomically: a temporary file in the same folder, then rename, so a reader sees the old or the
 *   new version and a crash leaves one of them, never a mix;
 * - never through a symbolic link: every folder on the way is lstat-ed and must be a real folder
 *   inside the root, so a link planted in the tree cannot redirect a write outside it;
 * - never over an edit: just before the rename the target is stat-ed again and must still be the
 *   version the agent last saw, else the write is abandoned and the edit is pushed instead.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, rename, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EntryContent } from '../core/entry.ts';
import { ancestorPaths, TEMP_FILE_PREFIX } from '../core/paths.ts';
import { sameStat } from './local-tree.ts';
import type { StatStamp } from './state.ts';

export type ApplyOutcome =
  | { ok: true; stat?: StatStamp }
  /** Not applied; `retry` says whether trying later may succeed. */
  | {
      ok: false;
      code: 'local-changed' | 'symlink-in-path' | 'not-a-folder' | 'folder-not-empty' | 'io-error';
      message: string;
      retry: boolean;
    };

/** What the agent believes is on disk at the path (its base's stat), or undefined for "nothing". */
export type Expected = StatStamp | undefined;

export async function applyContent(
  root: string,
  path: string,
  content: EntryContent,
  expected: Expected,
  bytes: Uint8Array | undefined,
): Promise<ApplyOutcome> {
  try {
    const parents = await ensureParents(root, path, content.kind !== 'deleted');
    if (parents) return parents;
    const absolute = join(root, path);
    const current = await lstatOrUndefined(absolute);
    if (current && !current.isDirectory() && expected && !sameStat(stampOf(current), expected)) {
      return { ok: false, code: 'local-changed', message: 'the file changed locally', retry: false };
    }
    if (current && !expected && !current.isDirectory() && content.kind !== 'deleted') {
      return {
        ok: false,
        code: 'local-changed',
        message: 'a local file appeared at this path',
        retry: false,
      };
    }
    switch (content.kind) {
      case 'deleted': {
        if (!current) return { ok: true };
        if (current.isDirectory()) {
          try {
            await rmdir(absolute);
          } catch {
            return { ok: false, code: 'folder-not-empty', message: 'folder is not empty', retry: false };
          }
          return { ok: true };
        }
        await unlink(absolute);
        return { ok: true };
      }
      case 'dir': {
        if (current?.isDirectory()) return { ok: true, stat: stampOf(current) };
        if (current) await unlink(absolute);
        await mkdir(absolute);
        return { ok: true, stat: stampOf(await lstat(absolute)) };
      }
      case 'symlink': {
        if (current?.isDirectory() && !(await removeEmptyFolder(absolute))) {
          return {
            ok: false,
            code: 'folder-not-empty',
            message: 'a non-empty folder is in the way',
            retry: true,
          };
        }
        const temp = tempPath(root, path);
        await symlink(content.target, temp);
        await rename(temp, absolute);
        return { ok: true, stat: stampOf(await lstat(absolute)) };
      }
      case 'file': {
        if (!bytes) throw new Error(`applyContent needs the bytes of ${path}`);
        if (current?.isDirectory() && !(await removeEmptyFolder(absolute))) {
          return {
            ok: false,
            code: 'folder-not-empty',
            message: 'a non-empty folder is in the way',
            retry: true,
          };
        }
        const temp = tempPath(root, path);
        await writeFile(temp, bytes, { mode: content.exec ? 0o755 : 0o644 });
        await chmod(temp, content.exec ? 0o755 : 0o644);
        // Last check before the rename: an editor may have saved since the first check.
        const again = await lstatOrUndefined(absolute);
        if (again && !again.isDirectory() && (!expected || !sameStat(stampOf(again), expected))) {
          await unlink(temp).catch(() => {});
          return { ok: false, code: 'local-changed', message: 'the file changed locally', retry: false };
        }
        await rename(temp, absolute);
        return { ok: true, stat: stampOf(await lstat(absolute)) };
      }
    }
  } catch (error) {
    return { ok: false, code: 'io-error', message: (error as Error).message, retry: true };
  }
}

/** Creates missing parent folders; refuses when any ancestor is a link or a file. */
async function ensureParents(root: string, path: string, create: boolean): Promise<ApplyOutcome | undefined> {
  for (const folder of ancestorPaths(path)) {
    const absolute = join(root, folder);
    const stats = await lstatOrUndefined(absolute);
    if (!stats) {
      if (!create) return undefined;
      await mkdir(absolute);
      continue;
    }
    if (stats.isSymbolicLink()) {
      return {
        ok: false,
        code: 'symlink-in-path',
        message: `'${folder}' is a symbolic link; nothing is written through it`,
        retry: false,
      };
    }
    if (!stats.isDirectory())
      return { ok: false, code: 'not-a-folder', message: `'${folder}' is not a folder`, retry: true };
  }
  return undefined;
}

async function removeEmptyFolder(absolute: string): Promise<boolean> {
  try {
    await rmdir(absolute);
    return true;
  } catch {
    return false;
  }
}

function tempPath(root: string, path: string): string {
  const slash = path.lastIndexOf('/');
  const folder = slash < 0 ? '' : path.slice(0, slash);
  return join(root, folder, `${TEMP_FILE_PREFIX}${randomBytes(6).toString('hex')}`);
}

async function lstatOrUndefined(absolute: string) {
  try {
    return await lstat(absolute);
  } catch {
    return undefined;
  }
}

export function stampOf(stats: import('node:fs').Stats): StatStamp {
  return {
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
    ino: stats.ino,
    mode: stats.mode,
  };
}
