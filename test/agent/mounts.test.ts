import { describe, expect, it } from 'bun:test';
import { mountTypeIn } from '../../src/agent/mounts.ts';

const TABLE = [
  '22 1 0:21 / / rw,relatime - ext4 /dev/vda rw',
  '30 22 0:40 / /workspaces rw - virtiofs shared rw',
  '31 22 0:41 / /mnt/nfs rw - nfs4 server:/export rw',
  '32 22 0:42 / /mnt/with\\040space rw - fuse.sshfs host: rw',
].join('\n');

describe('mountTypeIn', () => {
  it.each([
    ['/home/me/src', 'ext4'],
    ['/workspaces/app', 'virtiofs'],
    ['/workspaces', 'virtiofs'],
    ['/workspacesX/app', 'ext4'],
    ['/mnt/nfs/deep/er', 'nfs4'],
    ['/mnt/with space/x', 'fuse.sshfs'],
  ])('finds the deepest mount holding %s', (dir, type) => {
    expect(mountTypeIn(TABLE, dir)).toBe(type);
  });

  it('answers undefined for an empty table', () => {
    expect(mountTypeIn('', '/x')).toBeUndefined();
  });
});
