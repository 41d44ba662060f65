/**
 * Real processes: a 3,000-file branch switch under `ulimit -n 256`, an agent killed with SIGKILL
 * in the middle of a sync, and a hub killed and restarted in the middle of a sync.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../helpers/git.ts';
import {
  cleanup,
  startAgent,
  startHub,
  tempDir,
  treesEqual,
  waitConverged,
  waitUntil,
} from '../helpers/harness.ts';
import { freePort, startCli, stopAllCli, waitHealthy } from '../helpers/processes.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

function writeFiles(root: string, count: number, tag: string): void {
  for (let i = 0; i < count; i++) {
    const dir = join(root, `pkg${i % 30}`, `mod${i % 7}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `file${i}.ts`), `export const value${i} = '${tag}-${i}';\n`.repeat(3));
  }
}

describe('processes', () => {
  it('syncs a 3,000-file branch switch as one batch under ulimit -n 256, without EMFILE', async () => {
    const hub = startHub();
    const dirA = tempDir('warmsync-repo-');
    git(dirA, 'init', '-q', '-b', 'main');
    writeFiles(dirA, 3000, 'main');
    git(dirA, 'add', '.');
    git(dirA, 'commit', '-qm', 'main');
    git(dirA, 'checkout', '-q', '-b', 'feature');
    writeFiles(dirA, 3000, 'feature');
    git(dirA, 'commit', '-qam', 'feature');
    git(dirA, 'checkout', '-q', 'main');
    const agentA = startCli(
      ['agent', dirA, '--server', hub.url, '--workspace', 'test', '--state', tempDir()],
      { openFiles: 256 },
    );
    const b = await startAgent(hub);
    await waitConverged([dirA, b.tree.root], 'the initial sync', 60_000);
    const applied: number[] = [];
    const seen = b.state.bases.size;
    git(dirA, 'checkout', '-q', 'feature');
    await waitConverged([dirA, b.tree.root], 'the branch switch on the peer', 60_000);
    applied.push(b.state.bases.size - seen);
    const output = agentA.output();
    expect(output).not.toContain('EMFILE');
    expect(output).toContain('branch switch main -> feature');
    // One push carries the whole checkout (its chunks may travel ahead in chunk-only requests).
    expect(output).toMatch(/pushed 3000 change\(s\)/);
    const entries = (await hub.store.changesSince('test', 0, 100_000)).entries;
    expect(entries.filter((e) => e.branch === 'feature')).toHaveLength(3000);
  }, 180_000);

  it('recovers from an agent killed with SIGKILL mid-sync: restarted, it finishes with nothing lost', async () => {
    const hub = startHub();
    const dirA = tempDir('warmsync-tree-');
    const state = tempDir('warmsync-state-');
    writeFiles(dirA, 2000, 'v1');
    const first = startCli(['agent', dirA, '--server', hub.url, '--workspace', 'test', '--state', state]);
    await waitUntil(
      async () => (await hub.store.changesSince('test', 0, 1)).head > 0 || first.output().includes('pushed'),
      'the push to start',
      30_000,
    );
    await first.kill('SIGKILL');
    // Edits made while the agent is dead are picked up on restart.
    writeFileSync(join(dirA, 'while-dead.txt'), 'edited while the agent was down');
    startCli(['agent', dirA, '--server', hub.url, '--workspace', 'test', '--state', state]);
    const b = await startAgent(hub);
    await waitConverged([dirA, b.tree.root], 'convergence after the restart', 60_000);
  }, 120_000);

  it('recovers from a hub killed with SIGKILL mid-sync and restarted on the same data', async () => {
    const port = await freePort();
    const data = tempDir('warmsync-hubdata-');
    const url = `http://127.0.0.1:${port}`;
    const serve = () => startCli(['serve', '--data', data, '--port', String(port), '--no-auth']);
    let hub = serve();
    await waitHealthy(url);
    const a = await startAgent({ url });
    const b = await startAgent({ url });
    writeFiles(a.tree.root, 1500, 'v1');
    await waitUntil(() => b.state.bases.size > 10, 'the peer to start receiving', 30_000);
    await hub.kill('SIGKILL');
    writeFileSync(join(a.tree.root, 'during-outage.txt'), 'written while the hub was down');
    hub = serve();
    await waitHealthy(url);
    await waitConverged([a.tree.root, b.tree.root], 'convergence after the hub restart', 60_000);
    expect(treesEqual(a.tree.root, b.tree.root)).toBe(true);
  }, 120_000);

  it('waits for a hub that is not up yet, then syncs', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dir = tempDir('warmsync-tree-');
    writeFileSync(join(dir, 'early.txt'), 'written before the hub existed');
    const agent = startCli(['agent', dir, '--server', url, '--workspace', 'test', '--state', tempDir()]);
    await waitUntil(() => agent.output().includes('waiting for the hub'), 'the agent to wait', 20_000);
    startCli(['serve', '--data', tempDir('warmsync-hubdata-'), '--port', String(port), '--no-auth']);
    await waitHealthy(url);
    const b = await startAgent({ url });
    await waitConverged([dir, b.tree.root], 'the late hub to sync', 30_000);
  }, 60_000);

  it('exits at once with one clear line when the hub refuses the token', async () => {
    const hub = startHub({ token: 'right' });
    const agent = startCli([
      'agent',
      tempDir(),
      '--server',
      hub.url,
      '--workspace',
      'test',
      '--token',
      'wrong',
      '--state',
      tempDir(),
    ]);
    expect(await agent.process.exited).toBe(1);
    await waitUntil(() => agent.output().includes('refused the token'), 'the error line');
    expect(agent.output()).not.toContain('    at ');
  });

  it('serves the agent metrics on --metrics-port', async () => {
    const hub = startHub();
    const port = await freePort();
    const dir = tempDir('warmsync-tree-');
    writeFileSync(join(dir, 'counted.txt'), 'one push');
    startCli([
      'agent',
      dir,
      '--server',
      hub.url,
      '--workspace',
      'test',
      '--state',
      tempDir(),
      '--metrics-port',
      String(port),
    ]);
    let text = '';
    await waitUntil(
      async () => {
        text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
        return /warmsync_agent_pushed_total\{result="accepted"\} [1-9]/.test(text);
      },
      'the push to show in the agent metrics',
      20_000,
    );
    expect(text).toContain('workspace_prewarm_attempts_total');
  });

  it('runs the README demo to the end: both folders identical, one conflict kept', async () => {
    const demo = startCli(['demo']);
    expect(await demo.process.exited).toBe(0);
    // The output pipe may still hold the last lines when the process has exited.
    await waitUntil(() => demo.output().includes('both folders are identical'), 'the demo output');
    expect(demo.output()).toMatch(
      /kept side by side: src\/greet\.ts and src\/greet\.conflict-[0-9a-f]+-[0-9a-f]{8}\.ts/,
    );
  });

  it('reports workspaces and connected agents with warmsync status', async () => {
    const hub = startHub();
    const a = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'x.txt'), 'x');
    await waitUntil(async () => (await hub.store.changesSince('test', 0, 1)).head > 0, 'the push');
    const status = startCli(['status', '--server', hub.url, '--json']);
    expect(await status.process.exited).toBe(0);
    await waitUntil(() => status.output().includes('"workspaces"'), 'the status output');
    const parsed = JSON.parse(status.output()) as {
      workspaces: Array<{ name: string; agents: Array<{ id: string }> }>;
    };
    expect(parsed.workspaces[0]?.name).toBe('test');
    expect(parsed.workspaces[0]?.agents.map((x) => x.id)).toContain(a.agentId);
  });
});
