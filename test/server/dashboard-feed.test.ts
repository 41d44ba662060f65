import { describe, expect, it } from 'bun:test';
import type { Principal } from '../../src/core/credential.ts';
import { SnapshotFeed } from '../../src/server/dashboard/snapshot-feed.ts';

const ADMIN: Principal = { kind: 'admin' };
const READER: Principal = { kind: 'workspace', id: '0123456789abcdef', workspace: 'w', readOnly: true };
const WRITER: Principal = { kind: 'workspace', id: 'fedcba9876543210', workspace: 'w', readOnly: false };

/** A feed on a clock the test moves, counting its gatherings per principal. */
function feed(gather?: (p: Principal) => Promise<string>) {
  let now = 0;
  const gathered: string[] = [];
  const f = new SnapshotFeed(
    (p) => {
      const who = p.kind === 'admin' ? 'admin' : p.id;
      gathered.push(who);
      return gather ? gather(p) : Promise.resolve(`${who}@${now}`);
    },
    { maxAgeMs: 900, now: () => now },
  );
  return { f, gathered, advance: (ms: number) => (now += ms) };
}

describe('SnapshotFeed', () => {
  it('gathers once for many pages of one principal within a tick', async () => {
    const { f, gathered } = feed();
    const texts = await Promise.all(Array.from({ length: 10 }, () => f.latest(ADMIN)));
    expect(new Set(texts)).toEqual(new Set(['admin@0']));
    expect(gathered).toEqual(['admin']);
  });

  it('gathers again once the snapshot is a tick old', async () => {
    const { f, gathered, advance } = feed();
    await f.latest(ADMIN);
    advance(899);
    expect(await f.latest(ADMIN)).toBe('admin@0');
    advance(1);
    expect(await f.latest(ADMIN)).toBe('admin@900');
    expect(gathered).toEqual(['admin', 'admin']);
  });

  it('never hands one principal the snapshot of another', async () => {
    const { f } = feed();
    expect(await f.latest(READER)).toBe('0123456789abcdef@0');
    expect(await f.latest(WRITER)).toBe('fedcba9876543210@0');
    expect(await f.latest(ADMIN)).toBe('admin@0');
  });

  it('tries afresh after a failed gathering instead of handing the failure out again', async () => {
    let fail = true;
    const { f, gathered } = feed(async () => {
      if (fail) throw new Error('store down');
      return 'ok';
    });
    await expect(f.latest(ADMIN)).rejects.toThrow('store down');
    fail = false;
    expect(await f.latest(ADMIN)).toBe('ok');
    expect(gathered).toEqual(['admin', 'admin']);
  });
});
