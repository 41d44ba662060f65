/**
 * A folder renamed in the tree: the cycle that sees it knows the moved files by their stat (the
 * same inode, size, times and mode as the bases they left) and reads none of them, whether the
 * watcher named them or only the folder; a file written since, or one whose base was taken too
 * soon after a change to prove anything, is read as usual.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { observeCycle } from '../../src/agent/cycle-observe.ts';
import { Limiter } from '../../src/agent/limiter.ts';
import { LocalTree, type Observation } from '../../src/agent/local-tree.ts';
import { AgentState } from '../../src/agent/state.ts';
import { DEFAULT_IGNORE_OPTIONS } from '../../src/core/ignore.ts';

const dirs: string[] = [];
const states: AgentState[] = [];
afterEach(() => {
  for (const state of states.splice(0)) state.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const FILES = ['lib/a/f0.txt', 'lib/a/f1.txt', 'lib/b/f2.txt', 'lib/b/f3.txt'];

/**
 * A tree holding `lib/` and a state whose bases are that tree as a cycle recorded it. `statAt`:
 * how long after the files' last change their stats were taken (a minute by default: long
 * enough for a stat to prove the content).
 */
async function syncedTree(statAtAfterMs = 60_000) {
  const root = mkdtempSync(join(tmpdir(), 'moved-folder-'));
  const stateDir = mkdtempSync(join(tmpdir(), 'moved-folder-state-'));
  dirs.push(root, stateDir);
  for (const path of FILES) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), `content of ${path}\n`);
  }
  const tree = new LocalTree(root, new Limiter(4), {
    ignore: DEFAULT_IGNORE_OPTIONS,
    allowGit: false,
    tracked: new Set(),
  });
  const state = new AgentState(stateDir);
  states.push(state);
  for (const path of ['lib', 'lib/a', 'lib/b', ...FILES]) {
    const obs = await tree.observe(path, undefined, 'always-read');
    const changed = obs.stat ? Math.max(obs.stat.mtimeMs, obs.stat.ctimeMs) : 0;
    state.setBase(path, {
      content: obs.content,
      vector: { a: 1 },
      stat: obs.stat,
      statAt: changed + statAtAfterMs,
    });
  }
  const deps = {
    tree,
    state,
    pending: new Map(),
    scheduler: { wantFullScan: () => {}, noteScanDuration: () => {} },
  };
  return { root, state, deps };
}

const moved = (path: string) => path.replace(/^lib\//, 'src/');

/** What the watcher names for `mv lib src`: the two folders, and (Bun's recursive watch) what is below the new one. */
const namedByWatcher = (withFiles: boolean) =>
  new Set(['lib', 'src', 'src/a', 'src/b', ...(withFiles ? FILES.map(moved) : [])]);

function expectKnownByStat(observed: Map<string, Observation>, state: AgentState, path: string): void {
  const obs = observed.get(moved(path));
  expect(obs?.content).toEqual(state.base(path)!.content);
  expect(obs?.bytes).toBeUndefined(); // not read: a read keeps the bytes it hashed
}

describe('a folder moved in the tree', () => {
  for (const withFiles of [false, true]) {
    it(`knows its files by their stat, reading none${withFiles ? ' (the watcher named each file)' : ' (the watcher named the folders)'}`, async () => {
      const { root, state, deps } = await syncedTree();
      renameSync(join(root, 'lib'), join(root, 'src'));
      const observed = await observeCycle(deps, namedByWatcher(withFiles), { fromWatcher: true });
      for (const path of FILES) {
        expectKnownByStat(observed, state, path);
        expect(observed.get(path)?.content).toEqual({ kind: 'deleted' });
      }
      expect(observed.get('src/a')?.content).toEqual({ kind: 'dir' });
      expect(observed.get('lib')?.content).toEqual({ kind: 'deleted' });
    });
  }

  it('reads a moved file written since, same size or not', async () => {
    const { root, state, deps } = await syncedTree();
    renameSync(join(root, 'lib'), join(root, 'src'));
    const edited = 'CONTENT OF lib/a/f1.txt\n'; // same length as before
    writeFileSync(join(root, 'src/a/f1.txt'), edited);
    const observed = await observeCycle(deps, namedByWatcher(true), { fromWatcher: true });
    const obs = observed.get('src/a/f1.txt');
    expect(new TextDecoder().decode(obs?.bytes)).toBe(edited);
    expect(obs?.content).not.toEqual(state.base('lib/a/f1.txt')!.content);
    expectKnownByStat(observed, state, 'lib/a/f0.txt');
  });

  it('reads moved files whose bases were taken too soon after a change to prove them', async () => {
    const { root, deps } = await syncedTree(10);
    renameSync(join(root, 'lib'), join(root, 'src'));
    const observed = await observeCycle(deps, namedByWatcher(true), { fromWatcher: true });
    for (const path of FILES) expect(observed.get(moved(path))?.bytes).toBeDefined();
  });

  it('reads a file that appears where another was removed, not a move', async () => {
    const { root, deps } = await syncedTree();
    rmSync(join(root, 'lib'), { recursive: true });
    mkdirSync(join(root, 'src/a'), { recursive: true });
    writeFileSync(join(root, 'src/a/f0.txt'), 'content of lib/a/f0.txt\n');
    const observed = await observeCycle(deps, new Set(['lib', 'src', 'src/a', 'src/a/f0.txt']), {
      fromWatcher: true,
    });
    expect(observed.get('src/a/f0.txt')?.bytes).toBeDefined();
  });
});
