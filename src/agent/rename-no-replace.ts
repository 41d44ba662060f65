/**
 * A rename that never replaces: renameat2(2) with RENAME_NOREPLACE (Linux 3.15 and later), which
 * fails with EEXIST when anything is at the new name. A new remote file is renamed into place with
 * it, so a file the user creates at that path in the instant between the agent's last look and its
 * rename is kept, never overwritten, and that last look is not needed (one lstat less per new file
 * in a first sync).
 *
 * Where it cannot be had (another system, no FFI, a file system that refuses the flag) the caller
 * looks and renames as before.
 */
import { constants } from 'node:os';

/** Renamed; something is at the new name (nothing moved); or not available here (nothing moved). */
export type NoReplaceOutcome = 'renamed' | 'exists' | 'unsupported';
export type RenameNoReplace = (from: string, to: string) => NoReplaceOutcome;

const AT_FDCWD = -100;
const RENAME_NOREPLACE = 1;

let loaded: RenameNoReplace | null | undefined;

/** The renameat2 of this system's C library, loaded once; undefined where there is none. */
export function renameNoReplace(): RenameNoReplace | undefined {
  if (loaded === undefined) loaded = load() ?? null;
  return loaded ?? undefined;
}

function load(): RenameNoReplace | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // bun:ffi is loaded lazily so that this module also loads where Bun's FFI is missing.
    const { dlopen, FFIType, ptr, read } = require('bun:ffi') as typeof import('bun:ffi');
    const symbols = {
      renameat2: {
        args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32],
        returns: FFIType.i32,
      },
      __errno_location: { args: [], returns: FFIType.ptr },
    } as const;
    for (const name of ['libc.so.6', 'libc.so']) {
      let lib: ReturnType<typeof dlopen<typeof symbols>>;
      try {
        lib = dlopen(name, symbols);
      } catch {
        continue; // musl calls it libc.so
      }
      let refused = false;
      return (from, to) => {
        if (refused) return 'unsupported';
        const source = Buffer.from(`${from}\0`);
        const target = Buffer.from(`${to}\0`);
        if (lib.symbols.renameat2(AT_FDCWD, ptr(source), AT_FDCWD, ptr(target), RENAME_NOREPLACE) === 0)
          return 'renamed';
        const errno = read.i32(lib.symbols.__errno_location()!, 0);
        if (errno === constants.errno.EEXIST) return 'exists';
        // EINVAL (a file system without the flag) or ENOSYS (an old kernel): not for this process.
        if (errno === constants.errno.EINVAL || errno === constants.errno.ENOSYS) {
          refused = true;
          return 'unsupported';
        }
        throw renameError(errno, from, to);
      };
    }
  } catch {
    // No FFI here.
  }
  return undefined;
}

/** The error rename(2) would have thrown, with the errno's name (ENOENT, EACCES...). */
function renameError(errno: number, from: string, to: string): NodeJS.ErrnoException {
  const code = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
  const error = new Error(`${code}: rename '${from}' -> '${to}'`) as NodeJS.ErrnoException;
  error.code = code;
  error.errno = -errno;
  return error;
}
