/**
 * Sync modes and the project file, through the real command line: agents run as child processes
 * on real folders against a real hub, each started with its role, reading the folder's
 * `warmsync.toml`. `warmsync flush` is the barrier between steps.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentStatus } from '../../src/core/control-protocol.ts';
import { cleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { hubHolds, livePaths } from '../helpers/hub-content.ts';
import { type CliProcess, startCli, stopAllCli } from '../helpers/processes.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

interface RunningAgent {
  dir: string;
  state: string;
  process: CliProcess;
}

/** Bindings of folders to hubs live under the state root: each test gets its own. */
const stateHome = () => ({ XDG_STATE_HOME: tempDir('warmsync-xdg-') });

async function startAgentProcess(
  hub: { url: string },
  dir: string,
  more: string[] = [],
  env: Record<string, string> = stateHome(),
): Promise<RunningAgent> {
  const state = tempDir('warmsync-state-');
  const args = ['agent', dir, '--server', hub.url, '--state', state, '--no-prewarm', '--rescan-ms', '500'];
  const process = startCli([...args, ...more], { env });
  await waitUntil(
    () => process.output().includes('watching') || process.process.exitCode !== null,
    'the agent to watch',
    30_000,
  );
  if (!process.output().includes('watching')) throw new Error(`the agent stopped: ${process.output()}`);
  return { dir, state, process };
}

async function control(args: string[], cwd?: string): Promise<{ code: number; output: string }> {
  const run = startCli(args, { cwd });
  const code = await run.process.exited;
  return { code, output: await run.finished() };
}

async function flush(...agents: RunningAgent[]): Promise<void> {
  for (const agent of agents) {
    const { code, output } = await control(['flush', agent.dir, '--state', agent.state]);
    expect({ code, output }).toMatchObject({ code: 0 });
  }
}

async function status(agent: RunningAgent): Promise<AgentStatus> {
  const { code, output } = await control(['status', agent.dir, '--state', agent.state, '--json']);
  expect(code).toBe(0);
  return JSON.parse(output) as AgentStatus;
}

function write(dir: string, path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');

const PROJECT = `workspace = "shop"
sync_node_modules = true

# Dependencies are installed in the container and mirrored, read-only, on the laptop.
[[paths]]
path = "node_modules/"
mode = "send-only"
role = "container"

[[paths]]
path = "node_modules/"
mode = "replica"
role = "laptop"
`;

describe('the common case: sources two-way, node_modules sent from the container', () => {
  it('mirrors the container node_modules on the laptop, overwriting laptop edits, while sources go both ways', async () => {
    const hub = startHub();
    const container = tempDir('warmsync-container-');
    const laptop = tempDir('warmsync-laptop-');
    write(container, 'warmsync.toml', PROJECT);
    write(container, 'node_modules/left-pad/index.js', 'module.exports = 1;');
    write(container, 'src/app.ts', 'export const app = 1;');
    const c = await startAgentProcess(hub, container, ['--role', 'container']);
    expect(c.process.output()).toContain('settings from');
    await flush(c);
    // The laptop starts empty: the project file arrives like any file, and is read at its start.
    write(laptop, 'warmsync.toml', PROJECT);
    const l = await startAgentProcess(hub, laptop, ['--role', 'laptop']);
    await flush(l);
    expect(read(laptop, 'node_modules/left-pad/index.js')).toBe('module.exports = 1;');
    expect(read(laptop, 'src/app.ts')).toBe('export const app = 1;');

    // Laptop edits to the replica are overwritten and never reach the hub or the container.
    write(laptop, 'node_modules/left-pad/index.js', 'module.exports = "hacked";');
    write(laptop, 'node_modules/left-pad/extra.js', 'laptop only');
    await waitUntil(
      () =>
        existsSync(join(laptop, 'node_modules/left-pad/index.js')) &&
        read(laptop, 'node_modules/left-pad/index.js') === 'module.exports = 1;' &&
        !existsSync(join(laptop, 'node_modules/left-pad/extra.js')),
      'the replica to overwrite the laptop edit',
      30_000,
    );
    await flush(l, c);
    expect(await hubHolds(hub, 'shop', 'node_modules/left-pad/index.js', 'module.exports = 1;')).toBe(true);
    expect(await hub.store.entry('shop', 'node_modules/left-pad/extra.js')).toBeUndefined();
    expect(read(container, 'node_modules/left-pad/index.js')).toBe('module.exports = 1;');

    // Sources go both ways.
    write(laptop, 'src/app.ts', 'export const app = 2;');
    await flush(l, c);
    expect(read(container, 'src/app.ts')).toBe('export const app = 2;');
    write(container, 'src/app.ts', 'export const app = 3;');
    write(container, 'node_modules/left-pad/index.js', 'module.exports = 2;');
    await flush(c, l);
    expect(read(laptop, 'src/app.ts')).toBe('export const app = 3;');
    expect(read(laptop, 'node_modules/left-pad/index.js')).toBe('module.exports = 2;');
    expect(readdirSync(laptop).filter((name) => name.includes('.conflict-'))).toEqual([]);
  }, 180_000);

  it('lets a recreated container replace node_modules without a conflict copy', async () => {
    const hub = startHub();
    const first = tempDir('warmsync-container-');
    write(first, 'warmsync.toml', PROJECT);
    write(first, 'node_modules/dep/index.js', 'version 1');
    const a = await startAgentProcess(hub, first, ['--role', 'container']);
    await flush(a);
    await a.process.kill();
    // A new container: fresh state, a fresh install with other bytes.
    const second = tempDir('warmsync-container-');
    write(second, 'warmsync.toml', PROJECT);
    write(second, 'node_modules/dep/index.js', 'version 2');
    const b = await startAgentProcess(hub, second, ['--role', 'container']);
    await flush(b);
    expect(await hubHolds(hub, 'shop', 'node_modules/dep/index.js', 'version 2')).toBe(true);
    expect((await livePaths(hub, 'shop')).filter((path) => path.includes('.conflict-'))).toEqual([]);
  }, 120_000);
});

describe('a recreated container', () => {
  it('on an empty folder with no state only receives: the workspace keeps every file', async () => {
    const hub = startHub();
    const first = tempDir('warmsync-container-');
    for (let i = 0; i < 30; i++) write(first, `src/f${i}.ts`, `export const n = ${i};`);
    const a = await startAgentProcess(hub, first, ['--workspace', 'w']);
    await flush(a);
    await a.process.kill();
    // The container is recreated: a new, empty folder and a fresh state folder.
    const fresh = await startAgentProcess(hub, tempDir('warmsync-container-'), ['--workspace', 'w']);
    await flush(fresh);
    expect((await livePaths(hub, 'w')).filter((p) => p.startsWith('src/'))).toHaveLength(30);
    expect(readdirSync(join(fresh.dir, 'src'))).toHaveLength(30);
  }, 90_000);

  it('on its old state with the folder emptied (a lost volume) holds the deletions', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-container-');
    for (let i = 0; i < 12; i++) write(dir, `f${i}.txt`, `${i}`);
    const env = stateHome();
    const state = tempDir('warmsync-state-');
    const args = [
      'agent',
      dir,
      '--server',
      hub.url,
      '--workspace',
      'w',
      '--state',
      state,
      '--no-prewarm',
      '--once',
    ];
    expect(await startCli(args, { env }).process.exited).toBe(0);
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
    const again = startCli(args, { env });
    await again.process.exited;
    expect(await again.finished()).toContain('whole content');
    expect(await livePaths(hub, 'w')).toHaveLength(12);
  }, 90_000);
});

describe('--mode receive-only', () => {
  it('keeps local edits local and lists them; revert takes the workspace version back', async () => {
    const hub = startHub();
    const writer = await startAgentProcess(hub, tempDir('warmsync-tree-'), ['--workspace', 'w']);
    write(writer.dir, 'config.json', '{"v":1}');
    write(writer.dir, 'other.txt', 'one');
    await flush(writer);
    const reader = await startAgentProcess(hub, tempDir('warmsync-tree-'), [
      '--workspace',
      'w',
      '--mode',
      'receive-only',
    ]);
    await flush(reader);
    expect(read(reader.dir, 'config.json')).toBe('{"v":1}');

    write(reader.dir, 'config.json', '{"v":"local"}');
    write(reader.dir, 'scratch.txt', 'mine');
    await waitUntil(
      async () => (await status(reader)).paths.filter((p) => p.code === 'kept-local').length === 2,
      'both local changes to be listed as kept local',
      30_000,
    );
    // Remote edits still arrive, except over a kept-local edit.
    write(writer.dir, 'other.txt', 'two');
    write(writer.dir, 'config.json', '{"v":2}');
    await flush(writer, reader);
    expect(read(reader.dir, 'other.txt')).toBe('two');
    expect(read(reader.dir, 'config.json')).toBe('{"v":"local"}');
    expect(await hubHolds(hub, 'w', 'config.json', '{"v":2}')).toBe(true);
    expect(await hub.store.entry('w', 'scratch.txt')).toBeUndefined();
    const listed = (await status(reader)).paths;
    expect(listed.map((p) => [p.path, p.code]).sort()).toEqual([
      ['config.json', 'kept-local'],
      ['scratch.txt', 'kept-local'],
    ]);
    expect((await status(reader)).mode).toBe('receive-only');

    // Run in the folder, as a user would, with the path relative to it.
    const one = await control(['revert', 'config.json', '--state', reader.state], reader.dir);
    expect(one).toMatchObject({ code: 0 });
    expect(one.output).toContain('reverted config.json');
    expect(read(reader.dir, 'config.json')).toBe('{"v":2}');
    expect(read(reader.dir, 'scratch.txt')).toBe('mine');
    const rest = await control(['revert', '--dir', reader.dir, '--state', reader.state]);
    expect(rest).toMatchObject({ code: 0 });
    expect(existsSync(join(reader.dir, 'scratch.txt'))).toBe(false);
    expect((await status(reader)).paths).toEqual([]);
  }, 180_000);
});

describe('--mode send-only', () => {
  it('never writes remote versions; its next edit supersedes them without a conflict copy', async () => {
    const hub = startHub();
    const source = await startAgentProcess(hub, tempDir('warmsync-tree-'), [
      '--workspace',
      'w',
      '--mode',
      'send-only',
    ]);
    write(source.dir, 'data.csv', 'a,b');
    await flush(source);
    const peer = await startAgentProcess(hub, tempDir('warmsync-tree-'), ['--workspace', 'w']);
    await flush(peer);
    expect(read(peer.dir, 'data.csv')).toBe('a,b');
    write(peer.dir, 'data.csv', 'edited by the peer');
    write(peer.dir, 'new.txt', 'from the peer');
    await flush(peer, source);
    expect(read(source.dir, 'data.csv')).toBe('a,b');
    expect(existsSync(join(source.dir, 'new.txt'))).toBe(false);
    const listed = (await status(source)).paths;
    expect(listed.map((p) => [p.path, p.code]).sort()).toEqual([
      ['data.csv', 'not-applied'],
      ['new.txt', 'not-applied'],
    ]);
    write(source.dir, 'data.csv', 'a,b,c');
    await flush(source, peer);
    expect(await hubHolds(hub, 'w', 'data.csv', 'a,b,c')).toBe(true);
    expect(read(peer.dir, 'data.csv')).toBe('a,b,c');
    expect(readdirSync(peer.dir).filter((name) => name.includes('.conflict-'))).toEqual([]);
  }, 180_000);
});

describe('the project file', () => {
  it('stops the agent with the file, line and setting of a bad value', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-tree-');
    write(dir, 'warmsync.toml', 'workspace = "shop"\n\n[[paths]]\npath = "dist/"\nmode = "mirror"\n');
    const run = startCli(['agent', dir, '--server', hub.url, '--state', tempDir('warmsync-state-')], {
      env: stateHome(),
    });
    expect(await run.process.exited).toBe(2);
    expect(await run.finished()).toContain('warmsync.toml:5: paths.0.mode');
  }, 60_000);

  it('refuses a hub that only a changed project file names, until a flag confirms it', async () => {
    const hub = startHub();
    const other = startHub();
    const env = stateHome();
    const dir = tempDir('warmsync-tree-');
    write(dir, 'warmsync.toml', `server = "${hub.url}"\nworkspace = "shop"\n`);
    const first = startCli(['agent', dir, '--once', '--no-prewarm', '--state', tempDir('s-')], { env });
    expect({ code: await first.process.exited, output: await first.finished() }).toMatchObject({ code: 0 });
    // A peer points the file at another hub.
    write(dir, 'warmsync.toml', `server = "${other.url}"\nworkspace = "shop"\n`);
    const moved = startCli(['agent', dir, '--once', '--no-prewarm', '--state', tempDir('s-')], { env });
    expect(await moved.process.exited).toBe(2);
    expect(await moved.finished()).toContain('a peer may have changed it');
    expect(await livePaths(other, 'shop')).toEqual([]);
    const confirmed = startCli(
      ['agent', dir, '--once', '--no-prewarm', '--server', other.url, '--state', tempDir('s-')],
      { env },
    );
    expect(await confirmed.process.exited).toBe(0);
    expect(
      await hubHolds(other, 'shop', 'warmsync.toml', `server = "${other.url}"\nworkspace = "shop"\n`),
    ).toBe(true);
  }, 90_000);

  it('names the hub and workspace of the workspace commands run in its folder', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-tree-');
    write(dir, 'warmsync.toml', `server = "${hub.url}"\nworkspace = "shop"\n`);
    write(dir, 'a.txt', 'one');
    const sync = startCli(['agent', dir, '--once', '--no-prewarm', '--state', tempDir('s-')], {
      env: stateHome(),
    });
    expect(await sync.process.exited).toBe(0);
    mkdirSync(join(dir, 'sub'));
    const history = startCli(['history', '../a.txt', '--json'], {
      cwd: join(dir, 'sub'),
      env: { WARMSYNC_SERVER: undefined, WARMSYNC_WORKSPACE: undefined },
    });
    const output = await history.finished();
    expect({ code: history.process.exitCode, output }).toMatchObject({ code: 0 });
    expect(output).toContain('"a.txt"');
  }, 60_000);

  it('adds its ignore patterns to the folder rules', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-tree-');
    write(dir, 'warmsync.toml', 'workspace = "shop"\nignore = ["*.log", "tmp/"]\n');
    write(dir, 'app.log', 'noise');
    write(dir, 'tmp/x', 'noise');
    write(dir, 'keep.txt', 'kept');
    const run = startCli(
      ['agent', dir, '--once', '--no-prewarm', '--server', hub.url, '--state', tempDir('s-')],
      {
        env: stateHome(),
      },
    );
    expect(await run.process.exited).toBe(0);
    expect(await livePaths(hub, 'shop')).toEqual(['keep.txt', 'warmsync.toml']);
  }, 60_000);
});
