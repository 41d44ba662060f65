/**
 * An agent killed after the hub answered its push, or after it renamed a remote version into
 * place, but before its state recorded either as the base: the next start recognises what took
 * effect instead of taking its own version for someone else's or a write for an edit.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { cleanup, createAgent, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

/**
 * From now on `agent` records nothing at the end of its cycles, and its stop releases the state
 * folder without writing: as if it were killed right before every end-of-cycle commit. What it
 * commits at once (its intents, before a push or the writes) still reaches its state, as in a kill.
 */
function dieBeforeRecording(agent: Agent): void {
  type Intents = Parameters<Agent['state']['recordIntents']>[0];
  const state = agent.state as unknown as {
    flush: () => void;
    recordIntents: (intents: Intents) => void;
    close: () => void;
    db: { close(): void };
  };
  const flush = state.flush.bind(state);
  const recordIntents = state.recordIntents.bind(state);
  let recording = false;
  state.flush = () => {
    if (recording) flush();
  };
  state.recordIntents = (intents) => {
    recording = true;
    try {
      recordIntents(intents);
    } finally {
      recording = false;
    }
  };
  state.close = () => state.db.close();
}

async function hubEntry(hub: ReturnType<typeof startHub>, path: string) {
  return (await hub.store.changesSince('test', 0, 1000)).entries.find((e) => e.path === path);
}

describe('an agent killed before it recorded the answer to its push', () => {
  it('keeps a deletion made while it was down, instead of writing its pushed version back', async () => {
    const hub = startHub();
    const [dir, state] = [tempDir(), tempDir()];
    const first = createAgent(hub, { dir, stateDir: state });
    writeFileSync(join(dir, 'note.txt'), 'pushed, answer never recorded\n');
    dieBeforeRecording(first);
    await first.syncOnce();
    await first.stop();
    expect((await hubEntry(hub, 'note.txt'))?.content.kind).toBe('file');

    rmSync(join(dir, 'note.txt'));
    const again = createAgent(hub, { dir, stateDir: state });
    expect(await again.syncOnce()).toBe(true);
    expect(existsSync(join(dir, 'note.txt'))).toBe(false);
    expect((await hubEntry(hub, 'note.txt'))?.content.kind).toBe('deleted');
  });

  it('keeps an edit back to the previous version made while it was down', async () => {
    const hub = startHub();
    const [dir, state] = [tempDir(), tempDir()];
    writeFileSync(join(dir, 'note.txt'), 'v1\n');
    const first = createAgent(hub, { dir, stateDir: state });
    await first.syncOnce();
    writeFileSync(join(dir, 'note.txt'), 'v2\n');
    dieBeforeRecording(first);
    await first.syncOnce();
    await first.stop();

    writeFileSync(join(dir, 'note.txt'), 'v1\n');
    const again = createAgent(hub, { dir, stateDir: state });
    expect(await again.syncOnce()).toBe(true);
    expect(readFileSync(join(dir, 'note.txt'), 'utf8')).toBe('v1\n');
    const peer = createAgent(hub);
    await peer.syncOnce();
    expect(readFileSync(join(peer.tree.root, 'note.txt'), 'utf8')).toBe('v1\n');
  });
});

describe('an agent killed before it recorded a remote version it had written', () => {
  it('takes the written version as its base: no conflict copy when the hub moved on meanwhile', async () => {
    const hub = startHub();
    const editor = createAgent(hub);
    const edit = async (text: string) => {
      writeFileSync(join(editor.tree.root, 'x.txt'), text);
      await editor.syncOnce();
    };
    await edit('v1\n');
    const [dir, state] = [tempDir(), tempDir()];
    const mirror = createAgent(hub, { dir, stateDir: state });
    await mirror.syncOnce();
    await edit('v2\n');
    dieBeforeRecording(mirror);
    await mirror.syncOnce();
    await mirror.stop();
    expect(readFileSync(join(dir, 'x.txt'), 'utf8')).toBe('v2\n');

    await edit('v3\n');
    const again = createAgent(hub, { dir, stateDir: state });
    expect(await again.syncOnce()).toBe(true);
    expect(readdirSync(dir)).toEqual(['x.txt']);
    expect(readFileSync(join(dir, 'x.txt'), 'utf8')).toBe('v3\n');
    expect((await hub.store.workspaces()).find((w) => w.name === 'test')?.conflicts).toBe(0);
  });
});

describe('an agent killed twice in a row', () => {
  it('keeps the base it recovered when a newer write is cut short before it is recorded', async () => {
    const hub = startHub();
    const editor = createAgent(hub);
    const edit = async (text: string) => {
      writeFileSync(join(editor.tree.root, 'x.txt'), text);
      await editor.syncOnce();
    };
    await edit('v1\n');
    const [dir, state] = [tempDir(), tempDir()];
    const mirror = createAgent(hub, { dir, stateDir: state });
    await mirror.syncOnce();
    // First life: v2 written, not recorded.
    await edit('v2\n');
    dieBeforeRecording(mirror);
    await mirror.syncOnce();
    await mirror.stop();
    // Second life: v2 recognised, then v3 begun (its chunks cannot be had) and the agent dies.
    await edit('v3\n');
    const cutFetches = await startCuttingProxy(Number(new URL(hub.url).port), (data) =>
      data.includes('/v1/chunks/fetch') ? 'cut' : 'pass',
    );
    const second = createAgent(cutFetches, { dir, stateDir: state });
    dieBeforeRecording(second);
    await second.syncOnce().catch(() => false);
    await second.stop();
    expect(readFileSync(join(dir, 'x.txt'), 'utf8')).toBe('v2\n');

    const third = createAgent(hub, { dir, stateDir: state });
    expect(await third.syncOnce()).toBe(true);
    expect(readdirSync(dir)).toEqual(['x.txt']);
    expect(readFileSync(join(dir, 'x.txt'), 'utf8')).toBe('v3\n');
    expect((await hub.store.workspaces()).find((w) => w.name === 'test')?.conflicts).toBe(0);
  });
});

describe('a running agent whose push answer was lost with the hub', () => {
  it('keeps a deletion made before the hub came back, instead of taking the push for a peer version', async () => {
    const hub = startHub();
    let armed = false;
    const proxy = await startCuttingProxy(Number(new URL(hub.url).port), (data) => {
      if (!armed || !data.includes('/push')) return 'pass';
      armed = false;
      return 'down-on-answer';
    });
    const dir = tempDir();
    const agent = await startAgent(proxy, { dir });
    armed = true;
    writeFileSync(join(dir, 'note.txt'), 'committed by the hub, answer never heard\n');
    await waitUntil(() => proxy.down, 'the hub to commit and go away');
    await waitUntil(async () => (await hubEntry(hub, 'note.txt'))?.content.kind === 'file', 'the commit');
    // The file is deleted, and the push fails for good while the hub is away.
    rmSync(join(dir, 'note.txt'));
    await new Promise((r) => setTimeout(r, 2500));
    proxy.up();
    await waitUntil(
      async () => (await hubEntry(hub, 'note.txt'))?.content.kind === 'deleted',
      'the deletion to reach the hub',
    );
    await waitUntil(() => agent.pendingCount() === 0, 'the agent to settle');
    expect(existsSync(join(dir, 'note.txt'))).toBe(false);
  }, 30_000);
});
