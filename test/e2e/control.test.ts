/**
 * The control socket of a running agent, driven through the real command line: `flush`, `pause`,
 * `resume`, `status DIR`, and the safety halt on mass deletions. Agents run as child processes on
 * real folders.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus } from '../../src/core/control-protocol.ts';
import { cleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
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

async function startAgentProcess(
  hub: { url: string },
  dir = tempDir('warmsync-tree-'),
): Promise<RunningAgent> {
  const state = tempDir('warmsync-state-');
  const process = startCli([
    'agent',
    dir,
    '--server',
    hub.url,
    '--workspace',
    'test',
    '--state',
    state,
    '--no-prewarm',
    '--rescan-ms',
    '500',
  ]);
  await waitUntil(() => process.output().includes('watching'), 'the agent to watch', 30_000);
  return { dir, state, process };
}

/** Runs a control command to its end: its exit code and output. */
async function control(args: string[]): Promise<{ code: number; output: string }> {
  const run = startCli(args);
  const code = await run.process.exited;
  // The pipes may deliver their last bytes just after the exit.
  await new Promise((r) => setTimeout(r, 20));
  return { code, output: run.output() };
}

async function agentStatus(agent: RunningAgent): Promise<AgentStatus> {
  const { code, output } = await control(['status', agent.dir, '--state', agent.state, '--json']);
  expect(code).toBe(0);
  return JSON.parse(output) as AgentStatus;
}

const flush = (agent: RunningAgent, ...more: string[]) =>
  control(['flush', agent.dir, '--state', agent.state, ...more]);

describe('warmsync flush', () => {
  it('returns once local changes are on the hub; a flush of the peer then has them on its disk', async () => {
    const hub = startHub();
    const a = await startAgentProcess(hub);
    const b = await startAgentProcess(hub);
    for (let i = 0; i < 20; i++) writeFileSync(join(a.dir, `note-${i}.md`), `note ${i}`);
    const first = await flush(a);
    expect(first).toMatchObject({ code: 0 });
    for (let i = 0; i < 20; i++) expect(await hub.store.entry('test', `note-${i}.md`)).toBeDefined();
    expect(await flush(b)).toMatchObject({ code: 0 });
    for (let i = 0; i < 20; i++) expect(readFileSync(join(b.dir, `note-${i}.md`), 'utf8')).toBe(`note ${i}`);
  }, 120_000);

  it('fails with the reason when the hub cannot be reached before the timeout', async () => {
    const hub = startHub();
    const a = await startAgentProcess(hub);
    await hub.stop();
    writeFileSync(join(a.dir, 'stranded.md'), 'no hub');
    const result = await flush(a, '--timeout', '2');
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/not in sync after 2 s: cannot reach the hub/);
  }, 120_000);
});

describe('warmsync pause and resume', () => {
  it('a paused agent neither pushes nor applies; resume catches up both ways', async () => {
    const hub = startHub();
    const a = await startAgentProcess(hub);
    const b = await startAgentProcess(hub);
    expect(await control(['pause', a.dir, '--state', a.state])).toMatchObject({ code: 0 });
    writeFileSync(join(a.dir, 'local.md'), 'made while paused');
    writeFileSync(join(b.dir, 'remote.md'), 'made on the peer');
    expect(await flush(b)).toMatchObject({ code: 0 });
    // Past a rescan of A's folder (--rescan-ms 500): still nothing moved.
    await new Promise((r) => setTimeout(r, 1200));
    expect(await hub.store.entry('test', 'local.md')).toBeUndefined();
    expect(existsSync(join(a.dir, 'remote.md'))).toBe(false);
    expect((await agentStatus(a)).state).toBe('paused');
    const refused = await flush(a);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('paused');

    expect(await control(['resume', a.dir, '--state', a.state])).toMatchObject({ code: 0 });
    expect(await flush(a)).toMatchObject({ code: 0 });
    expect(await hub.store.entry('test', 'local.md')).toBeDefined();
    expect(readFileSync(join(a.dir, 'remote.md'), 'utf8')).toBe('made on the peer');
    expect((await agentStatus(a)).state).toBe('running');
  }, 120_000);
});

describe('the safety halt', () => {
  it('holds the deletions of an emptied folder of 150 files until resume --allow-deletes', async () => {
    const hub = startHub();
    const dirA = tempDir('warmsync-tree-');
    mkdirSync(join(dirA, 'src'));
    for (let i = 0; i < 100; i++) writeFileSync(join(dirA, `file-${i}.txt`), `top ${i}`);
    for (let i = 0; i < 50; i++) writeFileSync(join(dirA, 'src', `mod-${i}.ts`), `export const n = ${i};`);
    const a = await startAgentProcess(hub, dirA);
    const b = await startAgentProcess(hub);
    expect(await flush(a)).toMatchObject({ code: 0 });
    expect(await flush(b)).toMatchObject({ code: 0 });
    expect(readdirSync(b.dir).length).toBe(101);

    for (const name of readdirSync(a.dir)) rmSync(join(a.dir, name), { recursive: true, force: true });
    await waitUntil(async () => (await agentStatus(a)).state === 'halted', 'the agent to halt', 30_000);
    const status = await agentStatus(a);
    expect(status.halted).toContain('whole content');
    expect(a.process.output()).toContain('halted:');
    const refused = await flush(a);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('--allow-deletes');
    expect(await flush(b)).toMatchObject({ code: 0 });
    expect(readdirSync(b.dir).length).toBe(101);
    expect(readdirSync(join(b.dir, 'src')).length).toBe(50);
    expect(await hub.store.entry('test', 'file-0.txt')).toMatchObject({ content: { kind: 'file' } });

    const resumed = await control(['resume', a.dir, '--state', a.state, '--allow-deletes']);
    expect(resumed.code).toBe(0);
    expect(resumed.output).toContain('held deletion(s) go');
    expect(await flush(a)).toMatchObject({ code: 0 });
    expect(await flush(b)).toMatchObject({ code: 0 });
    expect(readdirSync(b.dir)).toEqual([]);
    expect((await agentStatus(a)).state).toBe('running');
  }, 120_000);
});

describe('the control socket', () => {
  it('is mode 0600, removed on stop, and a stale one is replaced at start', async () => {
    const hub = startHub();
    const a = await startAgentProcess(hub);
    const socket = join(a.state, 'control.sock');
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    await a.process.kill('SIGTERM');
    expect(existsSync(socket)).toBe(false);

    const again = startCli(['agent', a.dir, '--server', hub.url, '--workspace', 'test', '--state', a.state]);
    await waitUntil(() => again.output().includes('watching'), 'the agent to watch', 30_000);
    await again.kill('SIGKILL');
    expect(existsSync(socket)).toBe(true);
    const third = startCli(['agent', a.dir, '--server', hub.url, '--workspace', 'test', '--state', a.state]);
    await waitUntil(() => third.output().includes('watching'), 'the agent to watch', 30_000);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect((await agentStatus({ ...a, process: third })).state).toBe('running');
  }, 120_000);

  it('finds the agent of a folder without --state, among the default state folders', async () => {
    const hub = startHub();
    const stateHome = tempDir('warmsync-xdg-');
    const dir = tempDir('warmsync-tree-');
    const env = { ...process.env, XDG_STATE_HOME: stateHome };
    const agent = startCli(['agent', dir, '--server', hub.url, '--workspace', 'test', '--no-prewarm'], {
      env,
    });
    await waitUntil(() => agent.output().includes('watching'), 'the agent to watch', 30_000);
    const run = startCli(['status', dir, '--json'], { env });
    expect(await run.process.exited).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse(run.output())).toMatchObject({ state: 'running', workspace: 'test' });
  }, 120_000);
});
