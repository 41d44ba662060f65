/**
 * The agent's own writes, and the watcher's event for each: a file the agent wrote and renamed
 * into place is not read again when the stat taken after the rename proves it (the written file's
 * own stat, its mtime before its ctime) and its events were renames only; any edit since, the same
 * size, with its old mtime put back, or made at once after the write, is read and seen.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finishWrite, stageContent, stampOf } from '../../src/agent/apply.ts';
import { Limiter } from '../../src/agent/limiter.ts';
import { fileContent, LocalTree, statProvesOwnWrite } from '../../src/agent/local-tree.ts';
import type { BaseRecord, StatStamp } from '../../src/agent/state.ts';
import { DEFAULT_IGNORE_OPTIONS } from '../../src/core/ignore.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const text = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function treeIn(root: string): LocalTree {
  return new LocalTree(root, new Limiter(2), {
    ignore: DEFAULT_IGNORE_OPTIONS,
    allowGit: false,
    tracked: new Set(),
  });
}

/**
 * Writes `body` at `path` as a remote version is written (staged, then renamed), with `pauseMs`
 * between the write and the rename, and returns the base the agent would record.
 */
async function ownWrite(root: string, path: string, body: string, pauseMs: number): Promise<BaseRecord> {
  const bytes = text(body);
  const content = fileContent(bytes, false, 0o644);
  const staged = stageContent(root, path, content, undefined, bytes);
  if (staged.ok !== 'staged') throw new Error(`not staged: ${JSON.stringify(staged)}`);
  await sleep(pauseMs);
  const done = finishWrite(staged.staged);
  if (!done.ok) throw new Error(done.message);
  return {
    content,
    vector: { peer: 1 },
    stat: done.stat,
    statAt: Date.now(),
    ownWrite: true,
    statProves: done.statProves,
  };
}

const written: StatStamp = { size: 10, mtimeMs: 1000.25, ctimeMs: 1000.25, ino: 7, mode: 0o100644 };
const renamed: StatStamp = { ...written, ctimeMs: 1004.5 };

describe('statProvesOwnWrite', () => {
  it('holds for the written file moved into place, its ctime moved on by the rename', () => {
    expect(statProvesOwnWrite(written, renamed)).toBe(true);
  });

  it('fails where the write and the rename fell within one tick of the clock', () => {
    // A same-size write in that tick would leave every field as it is.
    expect(statProvesOwnWrite(written, { ...renamed, ctimeMs: written.mtimeMs })).toBe(false);
  });

  it('fails where the file was written again after the rename (its mtime and ctime one time)', () => {
    expect(statProvesOwnWrite(written, { ...renamed, mtimeMs: 1004.5 })).toBe(false);
  });

  it('fails for another file at the path, another size or other permission bits', () => {
    expect(statProvesOwnWrite(written, { ...renamed, ino: 8 })).toBe(false);
    expect(statProvesOwnWrite(written, { ...renamed, size: 11 })).toBe(false);
    expect(statProvesOwnWrite(written, { ...renamed, mode: 0o100600 })).toBe(false);
  });
});

describe('the watcher naming a file the agent wrote', () => {
  it('trusts the stat that proves it when the events were renames, and reads a base that is not proven', async () => {
    const root = mkdtempSync(join(tmpdir(), 'own-write-'));
    dirs.push(root);
    // Past the file system clock's tick, so that the rename's ctime follows the write's mtime.
    const base = await ownWrite(root, 'a.txt', 'written by the agent', 30);
    expect(base.statProves).toBe(true);
    expect(base.stat).toEqual(stampOf(lstatSync(join(root, 'a.txt'))));
    const tree = treeIn(root);
    // A base naming other bytes shows whether the file was read: proven, it is not.
    const claimed = { ...base, content: fileContent(text('what the base says!!'), false, 0o644) };
    expect((await tree.observe('a.txt', claimed, 'unless-proven')).content).toEqual(claimed.content);
    const unproven = { ...claimed, statProves: false };
    expect((await tree.observe('a.txt', unproven, 'unless-proven')).content).toEqual(base.content);
  });

  it('reads a proven file whose event said it changed in place, though its stat is the proven one', async () => {
    // What a same-size edit that puts the mtime back leaves, when it falls within the tick of a
    // coarse clock after the rename (ctime unmoved): the proven stat over other bytes. Built
    // here from a real file, since this kernel's clock may be fine-grained.
    const root = mkdtempSync(join(tmpdir(), 'own-write-'));
    dirs.push(root);
    const base = await ownWrite(root, 'a.txt', 'written by the agent', 30);
    writeFileSync(join(root, 'a.txt'), 'EDITED by the user!!');
    const lost = { ...base, stat: stampOf(lstatSync(join(root, 'a.txt'))), statProves: true };
    const obs = await treeIn(root).observe('a.txt', lost, 'always-read');
    expect(obs.content).toEqual(fileContent(text('EDITED by the user!!'), false, 0o644));
  });

  it('reads a same-size edit made at once after the write, whatever the events were', async () => {
    const root = mkdtempSync(join(tmpdir(), 'own-write-'));
    dirs.push(root);
    for (const pauseMs of [0, 30]) {
      const path = `edited-${pauseMs}.txt`;
      const base = await ownWrite(root, path, 'written by the agent', pauseMs);
      writeFileSync(join(root, path), 'EDITED by the user!!');
      for (const policy of ['unless-proven', 'always-read'] as const) {
        const obs = await treeIn(root).observe(path, base, policy);
        expect(obs.content).toEqual(fileContent(text('EDITED by the user!!'), false, 0o644));
      }
    }
  });

  it('reads a same-size edit whose old mtime was put back to the nanosecond', async () => {
    const root = mkdtempSync(join(tmpdir(), 'own-write-'));
    dirs.push(root);
    const path = join(root, 'a.txt');
    const base = await ownWrite(root, 'a.txt', 'written by the agent', 30);
    expect(base.statProves).toBe(true);
    const { mtimeNs } = statSync(path, { bigint: true });
    writeFileSync(path, 'EDITED by the user!!');
    // `touch` sets the exact nanoseconds (a Date or a number of seconds cannot carry them).
    const ns = mtimeNs % 1_000_000_000n;
    const at = `@${mtimeNs / 1_000_000_000n}.${ns.toString().padStart(9, '0')}`;
    const touched = Bun.spawnSync(['touch', '-m', '-d', at, path]);
    expect(touched.exitCode).toBe(0);
    expect(statSync(path, { bigint: true }).mtimeNs).toBe(mtimeNs);
    const obs = await treeIn(root).observe('a.txt', base, 'always-read');
    expect(readFileSync(path, 'utf8')).toBe('EDITED by the user!!');
    expect(obs.content).toEqual(fileContent(text('EDITED by the user!!'), false, 0o644));
  });
});

describe('a scan finding the stat of a file the agent wrote unchanged', () => {
  it('trusts it where the rename moved the ctime past the mtime', async () => {
    const root = mkdtempSync(join(tmpdir(), 'own-write-'));
    dirs.push(root);
    const base = await ownWrite(root, 'a.txt', 'written by the agent', 30);
    expect(base.stat!.mtimeMs).toBeLessThan(base.stat!.ctimeMs);
    // Restarted: the proof is not kept, the own write is.
    const restarted = { ...base, statProves: undefined };
    const claimed = { ...restarted, content: fileContent(text('what the base says!!'), false, 0o644) };
    expect((await treeIn(root).observe('a.txt', claimed, 'if-stat-changed')).content).toEqual(
      claimed.content,
    );
  });

  it('reads it where mtime and ctime are one (a same-size edit in the same tick would leave that stat)', async () => {
    // The stat a coarse clock leaves when the write, its rename and a user's same-size edit fall
    // in one tick, the edit's event lost (the agent killed, or the watcher overflowed): built here
    // from a real file written in place, whose mtime and ctime a write sets to one time.
    const root = mkdtempSync(join(tmpdir(), 'own-write-'));
    dirs.push(root);
    const base = await ownWrite(root, 'a.txt', 'written by the agent', 0);
    writeFileSync(join(root, 'a.txt'), 'EDITED by the user!!');
    const edited = stampOf(lstatSync(join(root, 'a.txt')));
    expect(edited.mtimeMs).toBe(edited.ctimeMs);
    const lost = { ...base, stat: edited, statAt: Date.now(), ownWrite: true, statProves: undefined };
    const obs = await treeIn(root).observe('a.txt', lost, 'if-stat-changed');
    expect(obs.content).toEqual(fileContent(text('EDITED by the user!!'), false, 0o644));
  });
});
