/**
 * Concurrent edits: nothing is silently overwritten. Concurrency is made deterministic by
 * editing on a side whose agent is stopped, then starting it again.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startAgent, startHub, waitConverged, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

async function offlinePair() {
  const hub = startHub();
  const a = await startAgent(hub);
  const stateB = join(a.tree.root, '..', `state-b-${Math.random().toString(36).slice(2)}`);
  let b = await startAgent(hub, { stateDir: stateB });
  const dirA = a.tree.root;
  const dirB = b.tree.root;
  writeFileSync(join(dirA, 'shared.ts'), 'export const v = 1;\n');
  await waitConverged([dirA, dirB]);
  const restartB = async () => {
    b = await startAgent(hub, { dir: dirB, stateDir: stateB });
    return b;
  };
  const headBefore = (await hub.store.changesSince('test', 0, 1)).head;
  /** Waits until A's next push has reached the hub. */
  const pushedByA = () =>
    waitUntil(async () => (await hub.store.changesSince('test', 0, 1)).head > headBefore, 'A to push');
  return { hub, a, dirA, dirB, stopB: () => b.stop(), restartB, pushedByA };
}

describe('conflicts', () => {
  it('keeps both versions of a concurrent edit: the first at the path, the other beside it', async () => {
    const { hub, dirA, dirB, stopB, restartB, pushedByA } = await offlinePair();
    await stopB();
    writeFileSync(join(dirB, 'shared.ts'), 'export const v = "from B";\n');
    writeFileSync(join(dirA, 'shared.ts'), 'export const v = "from A";\n');
    await pushedByA();
    const b = await restartB();
    await waitConverged([dirA, dirB]);
    const copies = readdirSync(dirA).filter((n) => n.startsWith('shared.conflict-'));
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatch(new RegExp(`^shared\\.conflict-${b.agentId}-[0-9a-f]{8}\\.ts$`));
    expect(readFileSync(join(dirA, 'shared.ts'), 'utf8')).toBe('export const v = "from A";\n');
    expect(readFileSync(join(dirA, copies[0]!), 'utf8')).toBe('export const v = "from B";\n');
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/workspace_sync_conflicts_total\{workspace="test"\} 1/);
    expect(hub.store.auditRows('test').filter((r) => r.op === 'conflict')).toHaveLength(1);
  });

  it('lets a modification beat a concurrent deletion (the deleting side gets the file back)', async () => {
    const { dirA, dirB, stopB, restartB, pushedByA } = await offlinePair();
    await stopB();
    rmSync(join(dirB, 'shared.ts'));
    writeFileSync(join(dirA, 'shared.ts'), 'export const v = 2;\n');
    await pushedByA();
    await restartB();
    await waitConverged([dirA, dirB]);
    expect(readFileSync(join(dirB, 'shared.ts'), 'utf8')).toBe('export const v = 2;\n');
    expect(readdirSync(dirB).filter((n) => n.includes('.conflict-'))).toEqual([]);
  });

  it('lets a modification beat a deletion that reached the hub first', async () => {
    const { dirA, dirB, stopB, restartB, pushedByA } = await offlinePair();
    await stopB();
    writeFileSync(join(dirB, 'shared.ts'), 'export const v = "kept";\n');
    rmSync(join(dirA, 'shared.ts'));
    await pushedByA();
    await restartB();
    await waitConverged([dirA, dirB]);
    expect(readFileSync(join(dirA, 'shared.ts'), 'utf8')).toBe('export const v = "kept";\n');
  });

  it('sees no conflict when both sides make the same edit', async () => {
    const { dirA, dirB, stopB, restartB, pushedByA } = await offlinePair();
    await stopB();
    writeFileSync(join(dirB, 'shared.ts'), 'same\n');
    writeFileSync(join(dirA, 'shared.ts'), 'same\n');
    await pushedByA();
    await restartB();
    await waitConverged([dirA, dirB]);
    expect(readdirSync(dirA).filter((n) => n.includes('.conflict-'))).toEqual([]);
  });

  it('never pushes back what it was told to write (no sync loop)', async () => {
    const { hub, dirA, dirB } = await offlinePair();
    for (let i = 0; i < 5; i++) writeFileSync(join(dirA, `f${i}.txt`), `v${i}`);
    await waitConverged([dirA, dirB]);
    const head = (await hub.store.changesSince('test', 0, 1)).head;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await hub.store.changesSince('test', 0, 1)).head).toBe(head);
    expect(existsSync(join(dirB, 'f4.txt'))).toBe(true);
  });
});

describe('paths that collide on macOS', () => {
  it('refuses a second path differing only by case, reports it, and leaves both alone', async () => {
    const hub = startHub();
    const a = await startAgent(hub);
    const b = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'README.md'), 'upper');
    await waitUntil(() => existsSync(join(b.tree.root, 'README.md')), 'the first file on the peer');
    writeFileSync(join(a.tree.root, 'readme.md'), 'lower');
    await waitUntil(
      () => a.problems().some((p) => p.code === 'case-collision'),
      'the collision to be reported',
    );
    expect(existsSync(join(b.tree.root, 'readme.md'))).toBe(false);
    expect(readFileSync(join(b.tree.root, 'README.md'), 'utf8')).toBe('upper');
    const status = (await (await fetch(`${hub.url}/v1/status`)).json()) as {
      workspaces: Array<{ agents: Array<{ problems: unknown[] }> }>;
    };
    await waitUntil(async () => {
      const s = (await (await fetch(`${hub.url}/v1/status`)).json()) as typeof status;
      return s.workspaces[0]!.agents.some((ag) => ag.problems.length > 0);
    }, 'status to list the problem');
    expect(await (await fetch(`${hub.url}/metrics`)).text()).toMatch(
      /warmsync_path_problems_total\{code="case-collision"\} 1/,
    );
  });

  it('refuses a path differing only by Unicode normalisation', async () => {
    const hub = startHub();
    const a = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'caf\u00e9.txt'), 'nfc');
    await waitUntil(
      async () => (await hub.store.entry('test', 'caf\u00e9.txt')) !== undefined,
      'the NFC name on the hub',
    );
    writeFileSync(join(a.tree.root, 'cafe\u0301.txt'), 'nfd');
    await waitUntil(
      () => a.problems().some((p) => p.code === 'case-collision'),
      'the collision to be reported',
    );
    expect(await hub.store.entry('test', 'cafe\u0301.txt')).toBeUndefined();
  });

  it('pushes a refused path once the path it collided with is deleted', async () => {
    const hub = startHub();
    const a = await startAgent(hub);
    const b = await startAgent(hub);
    writeFileSync(join(a.tree.root, 'readme.md'), 'lower');
    await waitUntil(() => existsSync(join(b.tree.root, 'readme.md')), 'the first file on the peer');
    writeFileSync(join(a.tree.root, 'README.md'), 'upper');
    await waitUntil(
      () => a.problems().some((p) => p.code === 'case-collision'),
      'the collision to be reported',
    );
    rmSync(join(a.tree.root, 'readme.md'));
    await waitUntil(
      () => existsSync(join(b.tree.root, 'README.md')) && !existsSync(join(b.tree.root, 'readme.md')),
      'the refused path on the peer once the other is gone',
    );
    expect(readFileSync(join(b.tree.root, 'README.md'), 'utf8')).toBe('upper');
    expect(a.problems()).toEqual([]);
  });
});
