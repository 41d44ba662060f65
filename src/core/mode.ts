/**
 * Permission bits of a file written from a remote version. Only the executable bit syncs as a
 * change; the other bits follow two rules, so that sync never makes a file more readable or
 * writable than someone chose:
 * - an existing file keeps its own bits (only its executable bits follow the version);
 * - a new file gets the bits of the file it was read from, never more (the umask may take more).
 */

/** Executable bits for the read bits that are set: 0o644 -> 0o755, 0o600 -> 0o700. */
function withExec(mode: number, exec: boolean): number {
  const bits = mode & 0o777;
  if (!exec) return bits & ~0o111;
  const exec3 = (bits & 0o444) >> 2;
  // A file that nobody may read still needs its owner's executable bit.
  return bits | (exec3 === 0 ? 0o100 : exec3);
}

/**
 * The bits to give a file that replaces `existingMode` (undefined: nothing was there) with a
 * version read from a file with `sourceMode` (undefined: a peer too old to send it).
 *
 * @example fileModeFor(true, 0o600, undefined)  // 0o700: a new private script stays private
 * @example fileModeFor(false, 0o644, 0o600)     // 0o600: an update never widens a private file
 */
export function fileModeFor(
  exec: boolean,
  sourceMode: number | undefined,
  existingMode: number | undefined,
): number {
  if (existingMode !== undefined) return withExec(existingMode, exec);
  if (sourceMode !== undefined) return withExec(sourceMode, exec);
  // No bits known: what a new file gets by default, under the umask.
  return exec ? 0o777 : 0o666;
}
