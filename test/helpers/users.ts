/**
 * An ordinary user for tests of permission faults: the tests run as root, who can read anything,
 * so an agent that must meet an unreadable folder runs as this user.
 */
import { chownSync } from 'node:fs';

export const TEST_USER = 'warmsync-test';

/** Creates the user when missing; undefined when this is not root (the test then skips). */
export function ensureTestUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => Bun.spawnSync(['id', '-u', TEST_USER]);
  if (lookup().exitCode !== 0) {
    const made = Bun.spawnSync([
      'useradd',
      '--system',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      TEST_USER,
    ]);
    if (made.exitCode !== 0) throw new Error(`useradd failed: ${made.stderr.toString()}`);
  }
  const uid = Number(lookup().stdout.toString().trim());
  const gid = Number(Bun.spawnSync(['id', '-g', TEST_USER]).stdout.toString().trim());
  return { uid, gid };
}

/** Gives `paths` (not recursively) to the test user. */
export function giveToTestUser(user: { uid: number; gid: number }, ...paths: string[]): void {
  for (const path of paths) chownSync(path, user.uid, user.gid);
}
