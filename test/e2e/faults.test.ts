/**
 * No edit lost, no file leaked: real agents on a real hub under ordinary faults (a link where the
 * peer has a folder, a chunk lost on the hub, a folder the agent cannot read, private files).
 */
import { afterEach, describe, expect, test } from 'bun:test';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../src/core/hash.ts';
import { statusSchema } from '../../src/core/protocol.ts';
import { loseChunk } from '../helpers/chunk-files.ts';
import {
  cleanup,
  describeTree,
  startAgent,
  startHub,
  tempDir,
  waitConverged,
  waitUntil,
} from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';
import { ensureTestUser, giveToTestUser } from '../helpers/users.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

/** Every file's bytes under `root`, as text. */
function allFileTexts(root: string): string[] {
  const out: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const absolute = join(folder, entry.name);
      if (entry.isDirectory()) walk(absolute);
      else if (entry.isFile()) out.push(readFileSync(absolute, 'utf8'));
    }
  };
  walk(root);
  return out;
}

describe('a folder that is a link on one side and a real folder on the other', () => {
  test('nothing outside the tree is read through the link, and nothing is written through it', async () => {
    const hub = startHub();
    const outside = tempDir('warmsync-outside-');
    writeFileSync(join(outside, 'x.js'), 'SECRET outside the workspace\n');
    const container = tempDir();
    mkdirSync(join(container, 'lib'));
    writeFileSync(join(container, 'lib', 'x.js'), 'export const x = 1;\n');
    writeFileSync(join(container, 'app.js'), 'import "./lib/x.js";\n');
    const b = await startAgent(hub, { dir: container });
    await waitUntil(async () => (await b.syncOnce()) && b.pendingCount() === 0, 'the container to push');
    const laptop = tempDir();
    symlinkSync(outside, join(laptop, 'lib'));
    await startAgent(hub, { dir: laptop });
    await waitConverged([laptop, container]);

    for (const text of allFileTexts(container)) expect(text).not.toContain('SECRET');
    // The file outside the tree is untouched, and the laptop's link is kept as a conflict copy.
    expect(readFileSync(join(outside, 'x.js'), 'utf8')).toBe('SECRET outside the workspace\n');
    expect(readdirSync(outside)).toEqual(['x.js']);
    const tree = describeTree(container);
    expect([...tree.values()]).toContain(`link:${outside}`);
    expect(tree.get('lib')).toBe('dir');
  });
});

describe('a chunk lost on the hub', () => {
  test('affects only the file that needs it, and comes back from the agent that holds it', async () => {
    const dataDir = join(tempDir('warmsync-hub-'), 'data');
    const hub = startHub({ dataDir });
    const source = tempDir();
    for (let i = 0; i < 40; i++) writeFileSync(join(source, `file-${i}.txt`), `content of file ${i}\n`);
    const sourceState = tempDir('warmsync-state-');
    const a = await startAgent(hub, { dir: source, stateDir: sourceState });
    await waitUntil(async () => (await a.syncOnce()) && a.pendingCount() === 0, 'the source to push');
    await a.stop();
    // Small pushes' chunks reach the folder a little after their commit (see chunk-journal.ts).
    await hub.sync.moveJournaled();
    const lostHash = sha256Hex(new TextEncoder().encode('content of file 7\n'));
    loseChunk(join(dataDir, 'chunks'), lostHash);

    const mirror = tempDir();
    const b = await startAgent(hub, { dir: mirror });
    await waitUntil(() => readdirSync(mirror).length === 39, 'the 39 other files to arrive');
    expect(existsSync(join(mirror, 'file-7.txt'))).toBe(false);
    expect(b.problems().map((p) => [p.path, p.code])).toContainEqual(['file-7.txt', 'deferred']);
    // The cursor moved past the file that waits: nothing else is held back by it.
    await waitUntil(() => b.state.cursor >= 40, 'the cursor to reach the head');

    // The source comes back; the mirror's next try asks for the chunk, the source uploads it.
    await startAgent(hub, { dir: source, stateDir: sourceState });
    await waitUntil(() => existsSync(join(mirror, 'file-7.txt')), 'the lost file to arrive', 60_000);
    expect(readFileSync(join(mirror, 'file-7.txt'), 'utf8')).toBe('content of file 7\n');
    await waitUntil(() => b.problems().length === 0, 'the problem to clear');
  }, 90_000);

  test('a damaged chunk on the hub is dropped on read and uploaded again', async () => {
    const dataDir = join(tempDir('warmsync-hub-'), 'data');
    const hub = startHub({ dataDir });
    const source = tempDir();
    writeFileSync(join(source, 'a.txt'), 'original bytes of a\n');
    writeFileSync(join(source, 'b.txt'), 'original bytes of b\n');
    const a = await startAgent(hub, { dir: source });
    await waitUntil(async () => (await a.syncOnce()) && a.pendingCount() === 0, 'the source to push');
    await hub.sync.moveJournaled();
    const hash = sha256Hex(new TextEncoder().encode('original bytes of a\n'));
    const chunkFile = join(dataDir, 'chunks', hash.slice(0, 2), hash);
    writeFileSync(chunkFile, 'rotten bytes of a!!\n');
    const mirror = tempDir();
    await startAgent(hub, { dir: mirror });
    await waitUntil(() => existsSync(join(mirror, 'b.txt')), 'b to arrive');
    await waitUntil(() => existsSync(join(mirror, 'a.txt')), 'a to arrive once re-uploaded', 60_000);
    expect(readFileSync(join(mirror, 'a.txt'), 'utf8')).toBe('original bytes of a\n');
    expect(readFileSync(chunkFile, 'utf8')).toBe('original bytes of a\n');
  }, 90_000);
});

describe('a folder the agent cannot read', () => {
  const user = ensureTestUser();
  test.skipIf(!user)(
    'is unknown, not deleted: peers keep their copies',
    async () => {
      const hub = startHub();
      const root = tempDir('warmsync-user-');
      const dir = join(root, 'tree');
      const state = join(root, 'state');
      mkdirSync(join(dir, 'secret'), { recursive: true });
      mkdirSync(state);
      writeFileSync(join(dir, 'top.txt'), 'top\n');
      writeFileSync(join(dir, 'secret', 'a.txt'), 'a\n');
      writeFileSync(join(dir, 'secret', 'b.txt'), 'b\n');
      chmodSync(root, 0o755);
      giveToTestUser(user!, dir, state, join(dir, 'top.txt'), join(dir, 'secret'));
      giveToTestUser(user!, join(dir, 'secret', 'a.txt'), join(dir, 'secret', 'b.txt'));
      const agent = startCli(
        ['agent', dir, '--server', hub.url, '--workspace', 'test', '--state', state, '--poll'],
        { user: 'warmsync-test' },
      );
      const peer = tempDir();
      await startAgent(hub, { dir: peer });
      await waitUntil(() => existsSync(join(peer, 'secret', 'b.txt')), `the tree to sync\n${agent.output()}`);

      // A container makes the folder root's own.
      giveToTestUser({ uid: 0, gid: 0 }, join(dir, 'secret'));
      chmodSync(join(dir, 'secret'), 0o700);
      const problemsOf = async () => {
        const status = statusSchema.parse(await (await fetch(`${hub.url}/v1/status`)).json());
        return status.workspaces.flatMap((w) => w.agents.flatMap((a) => a.problems));
      };
      await waitUntil(
        async () => (await problemsOf()).some((p) => p.path === 'secret' && p.code === 'unreadable'),
        `the agent to report the folder\n${agent.output()}`,
        30_000,
      );
      writeFileSync(join(dir, 'top.txt'), 'top, edited\n');
      await waitUntil(
        () => readFileSync(join(peer, 'top.txt'), 'utf8') === 'top, edited\n',
        'the edit to sync',
      );
      expect(readFileSync(join(peer, 'secret', 'a.txt'), 'utf8')).toBe('a\n');
      expect(readFileSync(join(peer, 'secret', 'b.txt'), 'utf8')).toBe('b\n');

      // Readable again: the folder syncs as before.
      giveToTestUser(user!, join(dir, 'secret'));
      writeFileSync(join(dir, 'secret', 'a.txt'), 'a, edited\n');
      await waitUntil(
        () => readFileSync(join(peer, 'secret', 'a.txt'), 'utf8') === 'a, edited\n',
        `the folder to sync again\n${agent.output()}`,
        30_000,
      );
      expect(existsSync(join(peer, 'secret', 'b.txt'))).toBe(true);
    },
    90_000,
  );
});

describe('permission bits', () => {
  test('a private file arrives private, and an update never widens a file', async () => {
    const hub = startHub();
    const laptop = tempDir();
    const container = tempDir();
    writeFileSync(join(laptop, '.env'), 'TOKEN=1\n', { mode: 0o600 });
    writeFileSync(join(laptop, 'run.sh'), 'echo hi\n', { mode: 0o700 });
    writeFileSync(join(laptop, 'notes.txt'), 'v1\n', { mode: 0o644 });
    await startAgent(hub, { dir: laptop });
    await startAgent(hub, { dir: container });
    await waitConverged([laptop, container]);
    const mode = (path: string) => (statSync(join(container, path)).mode & 0o777).toString(8);
    expect(mode('.env')).toBe('600');
    expect(mode('run.sh')).toBe('700');

    chmodSync(join(container, 'notes.txt'), 0o600);
    writeFileSync(join(laptop, 'notes.txt'), 'v2\n');
    await waitUntil(() => readFileSync(join(container, 'notes.txt'), 'utf8') === 'v2\n', 'the update');
    expect(mode('notes.txt')).toBe('600');
  });
});

describe('version vectors', () => {
  test('an agent whose state went back in time keeps its edit as a conflict copy', async () => {
    const hub = startHub();
    const laptop = tempDir();
    const desktop = tempDir();
    const laptopState = tempDir('warmsync-state-');
    writeFileSync(join(laptop, 'f.txt'), 'v0\n');
    let a = await startAgent(hub, { dir: laptop, stateDir: laptopState });
    const b = await startAgent(hub, { dir: desktop });
    await waitConverged([laptop, desktop]);
    await a.stop();
    const snapshot = tempDir('warmsync-snapshot-');
    cpSync(laptopState, snapshot, { recursive: true });

    a = await startAgent(hub, { dir: laptop, stateDir: laptopState });
    writeFileSync(join(laptop, 'f.txt'), 'v1 from the laptop\n');
    await waitUntil(() => readFileSync(join(desktop, 'f.txt'), 'utf8') === 'v1 from the laptop\n', 'v1');
    writeFileSync(join(desktop, 'f.txt'), 'v2 from the desktop\n');
    await waitUntil(() => readFileSync(join(laptop, 'f.txt'), 'utf8') === 'v2 from the desktop\n', 'v2');
    await a.stop();

    // The laptop's state is restored from before its last edit; then it edits again.
    rmSync(laptopState, { recursive: true, force: true });
    cpSync(snapshot, laptopState, { recursive: true });
    writeFileSync(join(laptop, 'f.txt'), 'v3 from the laptop\n');
    await startAgent(hub, { dir: laptop, stateDir: laptopState });
    await waitConverged([laptop, desktop]);
    expect(allFileTexts(desktop)).toContain('v3 from the laptop\n');
    expect(b.problems()).toEqual([]);
  });

  test('a second agent on the same state folder stops with a clear message', async () => {
    const hub = startHub();
    const stateDir = tempDir('warmsync-state-');
    await startAgent(hub, { stateDir });
    expect(() => startAgentSync(hub.url, stateDir)).toThrow(/in use by another running agent/);
  });
});

describe('a file where the other side made a folder', () => {
  for (const first of ['folder', 'file'] as const) {
    test(`converges with both kept when the ${first} reaches the hub first`, async () => {
      const hub = startHub();
      const withFolder = tempDir();
      mkdirSync(join(withFolder, 'x'));
      writeFileSync(join(withFolder, 'x', 'a.txt'), 'inside the folder\n');
      const withFile = tempDir();
      writeFileSync(join(withFile, 'x'), 'the file\n');
      const [early, late] = first === 'folder' ? [withFolder, withFile] : [withFile, withFolder];
      const e = await startAgent(hub, { dir: early });
      await waitUntil(async () => (await e.syncOnce()) && e.pendingCount() === 0, 'the first side to push');
      await startAgent(hub, { dir: late });
      await waitConverged([withFolder, withFile], 'both sides to agree', 30_000);
      const texts = allFileTexts(withFile);
      expect(texts).toContain('inside the folder\n');
      expect(texts).toContain('the file\n');
    }, 60_000);
  }
});

function startAgentSync(server: string, stateDir: string): void {
  // Constructing the agent opens (and locks) its state.
  const { Agent } = require('../../src/agent/agent.ts') as typeof import('../../src/agent/agent.ts');
  new Agent({ dir: tempDir(), server, workspace: 'test', stateDir });
}
