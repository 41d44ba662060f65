/**
 * Whether filesystem events can be trusted for a folder. Network and virtual filesystems (NFS,
 * SMB, sshfs, 9p, the file sharing of container runtimes on macOS) deliver no inotify events for
 * changes made on the other side, so the agent must poll there.
 */
import { readFile } from 'node:fs/promises';

const NO_EVENTS = new Set([
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'smbfs',
  'fuse.sshfs',
  '9p',
  'virtiofs',
  'fuse.grpcfuse',
  'fakeowner',
  'vboxsf',
  'prl_fs',
  'vmhgfs',
  'fuse.vmhgfs-fuse',
]);

/** The filesystem type of the mount holding `dir` (Linux only; undefined elsewhere). */
export async function filesystemType(dir: string): Promise<string | undefined> {
  let table: string;
  try {
    table = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  return mountTypeIn(table, dir);
}

/** The filesystem type of the deepest mount in a /proc/self/mountinfo text that holds `dir`. */
export function mountTypeIn(table: string, dir: string): string | undefined {
  let best: { point: string; type: string } | undefined;
  for (const line of table.split('\n')) {
    // Fields: id parent major:minor root mount-point options [optional...] - fstype source super
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    const point = fields[4]?.replace(/\\040/g, ' ');
    const type = fields[dash + 1];
    if (dash < 0 || !point || !type) continue;
    const inside = dir === point || dir.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && (!best || point.length > best.point.length)) best = { point, type };
  }
  return best?.type;
}

/** True when changes to `dir` may happen without the kernel telling this machine. */
export async function needsPolling(dir: string): Promise<{ poll: boolean; type?: string }> {
  const type = await filesystemType(dir);
  return { poll: type !== undefined && NO_EVENTS.has(type), type };
}
