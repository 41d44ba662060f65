/**
 * `warmsync agent` runs with Bun's idle collector timer off (see src/cli/quiet-runtime.ts): it
 * restarts itself in place once, so the process the user started is the one that syncs.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

/** The environment a running process has now, from /proc. */
function environmentOf(pid: number): Map<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return new Map(
    raw
      .split('\0')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

function startAgentCli(hub: { url: string }, dir: string, env: Record<string, string | undefined>) {
  return startCli(
    ['agent', dir, '--server', hub.url, '--workspace', 'test', '--state', tempDir(), '--no-prewarm'],
    { env },
  );
}

describe('warmsync agent', () => {
  it("runs with Bun's collector timer off, in the process that was started, and syncs", async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-quiet-');
    const agent = startAgentCli(hub, dir, { BUN_GC_TIMER_DISABLE: undefined });
    await waitUntil(() => agent.output().includes('[agent] watching'), 'the agent watching', 30_000);
    const pid = agent.process.pid;
    expect(environmentOf(pid).get('BUN_GC_TIMER_DISABLE')).toBe('1');
    // The same arguments after the restart, and the agent started once: one "watching" line.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(dir);
    expect(agent.output().match(/\[agent\] watching/g)).toHaveLength(1);
    const peer = await startAgent(hub);
    writeFileSync(join(dir, 'note.txt'), 'from the restarted agent\n');
    await waitUntil(() => existsSync(join(peer.tree.root, 'note.txt')), 'the file on the peer', 30_000);
  });

  it('keeps a value of the switch the user set', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-quiet-');
    const agent = startAgentCli(hub, dir, { BUN_GC_TIMER_DISABLE: '0' });
    await waitUntil(() => agent.output().includes('[agent] watching'), 'the agent watching', 30_000);
    expect(environmentOf(agent.process.pid).get('BUN_GC_TIMER_DISABLE')).toBe('0');
  });
});
