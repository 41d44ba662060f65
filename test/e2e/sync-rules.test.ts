/**
 * Each sync rule on its own, with a real hub on a loopback port and real agents on real folders.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  cleanup,
  createAgent,
  startAgent,
  startHub,
  tempDir,
  waitConverged,
  waitUntil,
} from '../helpers/harness.ts';

afterEach(cleanup);

async function pair() {
  const hub = startHub();
  const a = await startAgent(hub);
  const b = await startAgent(hub);
  return { hub, a, b, dirA: a.tree.root, dirB: b.tree.root };
}

describe('two continuous agents', () => {
  it('carries a new file, an edit and a deletion to the peer', async () => {
    const { dirA, dirB } = await pair();
    writeFileSync(join(dirA, 'hello.txt'), 'one\n');
    await waitUntil(() => existsSync(join(dirB, 'hello.txt')), 'the new file on the peer');
    writeFileSync(join(dirA, 'hello.txt'), 'two\n');
    await waitUntil(() => readFileSync(join(dirB, 'hello.txt'), 'utf8') === 'two\n', 'the edit on the peer');
    rmSync(join(dirA, 'hello.txt'));
    await waitUntil(() => !existsSync(join(dirB, 'hello.txt')), 'the deletion on the peer');
  });

  it('syncs empty folders and nested folders', async () => {
    const { dirA, dirB } = await pair();
    mkdirSync(join(dirA, 'empty/deeper/still'), { recursive: true });
    await waitConverged([dirA, dirB]);
    expect(statSync(join(dirB, 'empty/deeper/still')).isDirectory()).toBe(true);
  });

  it('syncs the executable bit both ways', async () => {
    const { dirA, dirB } = await pair();
    writeFileSync(join(dirA, 'run.sh'), '#!/bin/sh\necho hi\n');
    await waitUntil(() => existsSync(join(dirB, 'run.sh')), 'the script on the peer');
    chmodSync(join(dirA, 'run.sh'), 0o755);
    await waitUntil(
      () => (statSync(join(dirB, 'run.sh')).mode & 0o111) !== 0,
      'the executable bit on the peer',
    );
    chmodSync(join(dirB, 'run.sh'), 0o644);
    await waitUntil(
      () => (statSync(join(dirA, 'run.sh')).mode & 0o111) === 0,
      'the cleared bit back on the first side',
    );
  });

  it('syncs binary files byte for byte', async () => {
    const { dirA, dirB } = await pair();
    const bytes = new Uint8Array(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + (i >> 8)) & 0xff;
    writeFileSync(join(dirA, 'blob.bin'), bytes);
    await waitConverged([dirA, dirB]);
    expect(Buffer.compare(readFileSync(join(dirB, 'blob.bin')), Buffer.from(bytes))).toBe(0);
  });

  it('syncs symbolic links as links, with their target text', async () => {
    const { dirA, dirB } = await pair();
    writeFileSync(join(dirA, 'target.txt'), 'x');
    symlinkSync('target.txt', join(dirA, 'inside'));
    symlinkSync('/etc/hostname', join(dirA, 'outside'));
    await waitConverged([dirA, dirB]);
    const { readlinkSync, lstatSync } = await import('node:fs');
    expect(lstatSync(join(dirB, 'outside')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dirB, 'outside'))).toBe('/etc/hostname');
  });

  it('never writes through a symbolic link planted in the tree', async () => {
    const hub = startHub();
    const outside = tempDir('warmsync-outside-');
    const a = await startAgent(hub);
    const dirB = tempDir('warmsync-tree-');
    symlinkSync(outside, join(dirB, 'escape'));
    const b = createAgent(hub, { dir: dirB });
    // The link is B's local content: it syncs as a link, and a file pushed under that name
    // from A must not land in the folder the link points to.
    mkdirSync(join(a.tree.root, 'escape'));
    writeFileSync(join(a.tree.root, 'escape', 'payload.txt'), 'should never leave the tree');
    await waitUntil(
      async () => (await hub.store.changesSince('test', 0, 100)).entries.length >= 2,
      'A to push',
    );
    await b.start();
    await waitUntil(
      () => b.problems().some((p) => p.path === 'escape/payload.txt'),
      'B to report the refused write',
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  it('moves a renamed file without sending its content again', async () => {
    const { hub, dirA, dirB } = await pair();
    const text = 'a file with enough content to notice if it were sent twice\n'.repeat(2000);
    writeFileSync(join(dirA, 'before.txt'), text);
    await waitConverged([dirA, dirB]);
    const inBefore = await bytesIn(hub.url);
    renameSync(join(dirA, 'before.txt'), join(dirA, 'after.txt'));
    await waitUntil(
      () => existsSync(join(dirB, 'after.txt')) && !existsSync(join(dirB, 'before.txt')),
      'the rename on the peer',
    );
    const sent = (await bytesIn(hub.url)) - inBefore;
    expect(sent).toBeLessThan(2000);
    expect(readFileSync(join(dirB, 'after.txt'), 'utf8')).toBe(text);
  });

  it('moves a renamed folder, leaving nothing of its old name on the peer', async () => {
    const { dirA, dirB } = await pair();
    mkdirSync(join(dirA, 'docs'));
    writeFileSync(join(dirA, 'docs', 'guide.md'), 'guide');
    await waitConverged([dirA, dirB]);
    renameSync(join(dirA, 'docs'), join(dirA, 'manual'));
    await waitConverged([dirA, dirB]);
    expect(readdirSync(dirB)).toEqual(['manual']);
    expect(readFileSync(join(dirB, 'manual', 'guide.md'), 'utf8')).toBe('guide');
  });

  it('carries a rename that changes only the letter case of a folder', async () => {
    const { a, dirA, dirB } = await pair();
    mkdirSync(join(dirA, 'Src'));
    writeFileSync(join(dirA, 'Src', 'main.ts'), 'main');
    await waitConverged([dirA, dirB]);
    renameSync(join(dirA, 'Src'), join(dirA, 'src'));
    await waitConverged([dirA, dirB]);
    await a.syncOnce();
    await waitConverged([dirA, dirB]);
    expect(readdirSync(dirB)).toEqual(['src']);
    expect(a.problems()).toEqual([]);
  });

  it('sees a same-size edit made within the same second', async () => {
    const { dirA, dirB } = await pair();
    writeFileSync(join(dirA, 'flag.txt'), 'AAAA');
    await waitUntil(
      () => existsSync(join(dirB, 'flag.txt')) && readFileSync(join(dirB, 'flag.txt'), 'utf8') === 'AAAA',
      'first version',
    );
    const { utimesSync } = await import('node:fs');
    const { atime, mtime } = statSync(join(dirA, 'flag.txt'));
    writeFileSync(join(dirA, 'flag.txt'), 'BBBB');
    // Put the old timestamps back: only the content tells the versions apart.
    utimesSync(join(dirA, 'flag.txt'), atime, mtime);
    await waitUntil(
      () => readFileSync(join(dirB, 'flag.txt'), 'utf8') === 'BBBB',
      'the same-size edit on the peer',
    );
  });
});

async function bytesIn(url: string): Promise<number> {
  const status = (await (await fetch(`${url}/v1/status`)).json()) as { bytesIn: number };
  return status.bytesIn;
}

describe('an agent without filesystem events', () => {
  it('still carries edits across by polling', async () => {
    const hub = startHub();
    const a = await startAgent(hub, { poll: true });
    const b = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'polled.txt'), 'seen by a rescan');
    await waitUntil(() => existsSync(join(b.tree.root, 'polled.txt')), 'the polled edit on the peer');
    writeFileSync(join(b.tree.root, 'back.txt'), 'and back');
    await waitUntil(() => existsSync(join(a.tree.root, 'back.txt')), 'the peer edit on the polling side');
  });
});

describe('a first sync larger than one push', () => {
  it('goes in slices and arrives whole', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-tree-');
    for (let i = 0; i < 250; i++) writeFileSync(join(dir, `f${i}.txt`), `${i}`);
    const lines: string[] = [];
    await startAgent(hub, { dir, pushSlice: 100, log: (line) => lines.push(line) });
    const b = await startAgent(hub);
    await waitConverged([dir, b.tree.root]);
    expect(lines.filter((l) => l.startsWith('pushed '))).toHaveLength(3);
  });
});
