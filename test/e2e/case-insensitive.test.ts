/**
 * A case-only rename between a case-sensitive folder (Linux) and a case-insensitive one (the
 * test mount, which folds case as macOS and Windows do): the new spelling arrives, with its
 * content, and nothing is deleted on either side.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { TEMP_FILE_PREFIX } from '../../src/core/paths.ts';
import { caseInsensitiveUnavailable, mountCaseInsensitive } from '../helpers/casefold-fs.ts';
import { cleanup, startAgent, startHub, waitConverged, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

const unavailable = caseInsensitiveUnavailable();
if (unavailable) console.warn(`case-insensitive sync tests skipped: ${unavailable}`);

/** A hub, an agent on a plain Linux folder and an agent on a case-insensitive mount. */
async function linuxAndFolding() {
  const hub = startHub();
  const mount = await mountCaseInsensitive();
  if (!mount) throw new Error('no case-insensitive mount');
  const linux = await startAgent(hub);
  const folding = await startAgent(hub, { dir: mount.dir });
  return { hub, linux, folding, linuxDir: linux.tree.root, foldingDir: mount.dir };
}

/** The names in a folder as stored, without the agent's temporary files. */
function names(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith(TEMP_FILE_PREFIX))
    .sort();
}

function holds(dir: string, path: string, text: string): boolean {
  try {
    return readFileSync(join(dir, path), 'utf8') === text;
  } catch {
    return false;
  }
}

/**
 * A full reconcile on every agent, then convergence: whatever a rescan would do has been done.
 * No path was refused on the way (a new spelling pushed before the old one's deletion would be).
 */
async function settle(agents: Agent[], dirs: string[]): Promise<void> {
  for (const agent of agents) await agent.syncOnce();
  await waitConverged(dirs);
  for (const agent of agents) expect(agent.problems()).toEqual([]);
}

describe.skipIf(unavailable !== undefined)('a case-only rename', () => {
  it('made on Linux arrives on a case-insensitive folder as the new spelling', async () => {
    const { hub, linux, folding, linuxDir, foldingDir } = await linuxAndFolding();
    writeFileSync(join(linuxDir, 'readme.md'), 'the readme\n');
    await waitConverged([linuxDir, foldingDir]);
    const file = lstatSync(join(foldingDir, 'readme.md')).ino;
    renameSync(join(linuxDir, 'readme.md'), join(linuxDir, 'README.md'));
    await waitUntil(
      () => names(foldingDir).join() === 'README.md' && holds(foldingDir, 'README.md', 'the readme\n'),
      'the new spelling on the case-insensitive side',
    );
    await settle([folding, linux], [linuxDir, foldingDir]);
    expect(names(linuxDir)).toEqual(['README.md']);
    expect(names(foldingDir)).toEqual(['README.md']);
    // Renamed in place, not written anew and the old name removed.
    expect(lstatSync(join(foldingDir, 'README.md')).ino).toBe(file);
    expect(readFileSync(join(linuxDir, 'README.md'), 'utf8')).toBe('the readme\n');
    expect((await hub.store.entry('test', 'README.md'))?.content.kind).toBe('file');
  });

  it('of a folder made on Linux arrives with its files', async () => {
    const { linux, folding, linuxDir, foldingDir } = await linuxAndFolding();
    mkdirSync(join(linuxDir, 'Src'));
    writeFileSync(join(linuxDir, 'Src', 'main.ts'), 'main\n');
    writeFileSync(join(linuxDir, 'Src', 'util.ts'), 'util\n');
    await waitConverged([linuxDir, foldingDir]);
    const file = lstatSync(join(foldingDir, 'Src', 'main.ts')).ino;
    renameSync(join(linuxDir, 'Src'), join(linuxDir, 'src'));
    await waitUntil(
      () =>
        names(foldingDir).join() === 'src' &&
        names(join(foldingDir, 'src')).join() === 'main.ts,util.ts' &&
        holds(foldingDir, 'src/main.ts', 'main\n'),
      'the new folder spelling on the case-insensitive side',
    );
    await settle([folding, linux], [linuxDir, foldingDir]);
    expect(names(linuxDir)).toEqual(['src']);
    expect(names(join(linuxDir, 'src'))).toEqual(['main.ts', 'util.ts']);
    expect(readFileSync(join(foldingDir, 'src', 'util.ts'), 'utf8')).toBe('util\n');
    expect(lstatSync(join(foldingDir, 'src', 'main.ts')).ino).toBe(file);
  });

  it('made on a case-insensitive folder arrives on Linux as the new spelling', async () => {
    const { linux, folding, linuxDir, foldingDir } = await linuxAndFolding();
    writeFileSync(join(foldingDir, 'readme.md'), 'written on the mount\n');
    await waitConverged([linuxDir, foldingDir]);
    renameSync(join(foldingDir, 'readme.md'), join(foldingDir, 'README.md'));
    await waitUntil(
      () => names(linuxDir).join() === 'README.md' && holds(linuxDir, 'README.md', 'written on the mount\n'),
      'the new spelling on Linux',
    );
    await settle([folding, linux], [linuxDir, foldingDir]);
    expect(names(foldingDir)).toEqual(['README.md']);
    expect(readFileSync(join(foldingDir, 'README.md'), 'utf8')).toBe('written on the mount\n');
  });

  it('of a folder made on a case-insensitive folder arrives on Linux with its files', async () => {
    const { linux, folding, linuxDir, foldingDir } = await linuxAndFolding();
    mkdirSync(join(foldingDir, 'Docs'));
    writeFileSync(join(foldingDir, 'Docs', 'guide.md'), 'guide\n');
    await waitConverged([linuxDir, foldingDir]);
    renameSync(join(foldingDir, 'Docs'), join(foldingDir, 'docs'));
    await waitUntil(
      () => names(linuxDir).join() === 'docs' && holds(linuxDir, 'docs/guide.md', 'guide\n'),
      'the new folder spelling on Linux',
    );
    await settle([folding, linux], [linuxDir, foldingDir]);
    expect(names(foldingDir)).toEqual(['docs']);
    expect(names(join(foldingDir, 'docs'))).toEqual(['guide.md']);
  });
});

describe.skipIf(unavailable !== undefined)('a name held by another spelling', () => {
  it('waits on a case-insensitive folder until that file goes, then arrives', async () => {
    const hub = startHub();
    const linux = await startAgent(hub);
    writeFileSync(join(linux.tree.root, 'NOTES.md'), 'from linux\n');
    await waitUntil(
      async () => (await hub.store.entry('test', 'NOTES.md')) !== undefined,
      'NOTES.md on the hub',
    );
    // A file of the mount that the hub does not have: its push is refused (NOTES.md is live), and
    // NOTES.md cannot be written without writing over it.
    const mount = await mountCaseInsensitive();
    if (!mount) throw new Error('no case-insensitive mount');
    writeFileSync(join(mount.dir, 'notes.md'), 'local only\n');
    const folding = await startAgent(hub, { dir: mount.dir });
    await waitUntil(
      () => folding.problems().some((p) => p.path === 'NOTES.md'),
      'NOTES.md reported on the case-insensitive side',
    );
    expect(names(mount.dir)).toEqual(['notes.md']);
    expect(readFileSync(join(mount.dir, 'notes.md'), 'utf8')).toBe('local only\n');
    rmSync(join(mount.dir, 'notes.md'));
    await waitUntil(
      () => names(mount.dir).join() === 'NOTES.md' && holds(mount.dir, 'NOTES.md', 'from linux\n'),
      'NOTES.md on the case-insensitive side once notes.md is gone',
    );
  });
});
