/**
 * Three-way merge of concurrent edits, with real agents and a real hub. Concurrency is made
 * deterministic by editing on a side whose agent is stopped, then starting it again: its first
 * cycle finds its own edit and the newer remote version of the same file.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startAgent, startHub, waitConverged, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

const BASE = [
  'export function a() {',
  '  return 1;',
  '}',
  '',
  '// middle',
  '',
  'export function b() {',
  '  return 2;',
  '}',
  '',
].join('\n');

async function offlinePair(
  options: Parameters<typeof startAgent>[1] = {},
  extra: Record<string, Uint8Array> = {},
) {
  const hub = startHub();
  const a = await startAgent(hub, options);
  const stateB = join(a.tree.root, '..', `state-b-${Math.random().toString(36).slice(2)}`);
  const b = await startAgent(hub, { ...options, stateDir: stateB });
  const dirA = a.tree.root;
  const dirB = b.tree.root;
  writeFileSync(join(dirA, 'lib.ts'), BASE);
  for (const [name, bytes] of Object.entries(extra)) writeFileSync(join(dirA, name), bytes);
  await waitConverged([dirA, dirB]);
  await b.stop();
  const head = async () => (await hub.store.changesSince('test', 0, 1)).head;
  return {
    hub,
    dirA,
    dirB,
    head,
    restartB: () => startAgent(hub, { ...options, dir: dirB, stateDir: stateB }),
  };
}

const copies = (dir: string) => readdirSync(dir).filter((name) => name.includes('.conflict-'));

describe('three-way merge', () => {
  it('merges disjoint edits of a text file on both sides, with no conflict copy, and audits it', async () => {
    const { hub, dirA, dirB, head, restartB } = await offlinePair();
    const before = await head();
    writeFileSync(join(dirA, 'lib.ts'), BASE.replace('return 1;', 'return 10;'));
    await waitUntil(async () => (await head()) > before, 'A to push its edit');
    writeFileSync(join(dirB, 'lib.ts'), BASE.replace('return 2;', 'return 20;'));
    const b = await restartB();
    const merged = BASE.replace('return 1;', 'return 10;').replace('return 2;', 'return 20;');
    await waitUntil(
      () =>
        readFileSync(join(dirA, 'lib.ts'), 'utf8') === merged &&
        readFileSync(join(dirB, 'lib.ts'), 'utf8') === merged,
      'both sides to hold the merge',
      30_000,
    );
    await waitConverged([dirA, dirB]);
    expect(copies(dirA)).toEqual([]);
    expect(copies(dirB)).toEqual([]);
    expect(
      hub.store
        .auditRows('test')
        .filter((r) => r.op === 'merge')
        .map((r) => r.path),
    ).toEqual(['lib.ts']);
    expect(hub.store.auditRows('test').filter((r) => r.op === 'conflict')).toEqual([]);
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/workspace_sync_merges_total\{workspace="test"\} 1/);
    expect(b.localStatus().merges).toBe(1);
  }, 60_000);

  it('takes the remote version when it already holds the local edit, with nothing to merge', async () => {
    const { hub, dirA, dirB, head, restartB } = await offlinePair();
    const before = await head();
    const both = BASE.replace('return 1;', 'return 10;').replace('return 2;', 'return 20;');
    writeFileSync(join(dirA, 'lib.ts'), both);
    await waitUntil(async () => (await head()) > before, 'A to push its edit');
    writeFileSync(join(dirB, 'lib.ts'), BASE.replace('return 2;', 'return 20;'));
    const b = await restartB();
    await waitConverged([dirA, dirB]);
    expect(readFileSync(join(dirB, 'lib.ts'), 'utf8')).toBe(both);
    expect(copies(dirB)).toEqual([]);
    expect(hub.store.auditRows('test').filter((r) => r.op === 'merge' || r.op === 'conflict')).toEqual([]);
    expect(b.localStatus().merges).toBe(0);
  }, 60_000);

  it('keeps a conflict copy when the edits overlap', async () => {
    const { dirA, dirB, head, restartB } = await offlinePair();
    const before = await head();
    writeFileSync(join(dirA, 'lib.ts'), BASE.replace('return 1;', 'return "A";'));
    await waitUntil(async () => (await head()) > before, 'A to push its edit');
    writeFileSync(join(dirB, 'lib.ts'), BASE.replace('return 1;', 'return "B";'));
    await restartB();
    await waitUntil(
      () => copies(dirA).length === 1 && copies(dirB).length === 1,
      'the conflict copy on both sides',
      30_000,
    );
    await waitConverged([dirA, dirB]);
    const texts = [
      readFileSync(join(dirA, 'lib.ts'), 'utf8'),
      readFileSync(join(dirA, copies(dirA)[0]!), 'utf8'),
    ].sort();
    expect(texts).toEqual(
      [BASE.replace('return 1;', 'return "A";'), BASE.replace('return 1;', 'return "B";')].sort(),
    );
  }, 60_000);

  it('keeps a conflict copy for a path the project file keeps out of merging', async () => {
    const { dirA, dirB, head, restartB } = await offlinePair({ merge: { except: ['*.ts'] } });
    const before = await head();
    writeFileSync(join(dirA, 'lib.ts'), BASE.replace('return 1;', 'return 10;'));
    await waitUntil(async () => (await head()) > before, 'A to push its edit');
    writeFileSync(join(dirB, 'lib.ts'), BASE.replace('return 2;', 'return 20;'));
    await restartB();
    await waitUntil(() => copies(dirA).length === 1, 'the conflict copy', 30_000);
  }, 60_000);

  it('keeps a conflict copy for a binary file', async () => {
    // Lines of text, but a NUL byte makes the file binary: it is never merged.
    const bytes = (first: string, last: string) =>
      new TextEncoder().encode(`\0${first}\nmiddle\n\n\nmore\n${last}\n`);
    const { dirA, dirB, head, restartB } = await offlinePair({}, { 'blob.bin': bytes('one', 'two') });
    const before = await head();
    writeFileSync(join(dirA, 'blob.bin'), bytes('ONE', 'two'));
    await waitUntil(async () => (await head()) > before, 'A to push its edit');
    writeFileSync(join(dirB, 'blob.bin'), bytes('one', 'TWO'));
    await restartB();
    await waitUntil(
      () => copies(dirA).length === 1 && copies(dirB).length === 1,
      'the conflict copy on both sides',
      30_000,
    );
  }, 60_000);
});
