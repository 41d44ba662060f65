/**
 * Settling conflicts through the real command line (`warmsync conflicts`, `warmsync resolve`) on
 * a hub with three real agents: each --keep choice in bulk, applied on every agent, written to the
 * audit log; and the cap on conflict copies per path.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { encodeEnvelope } from '../../src/core/frames.ts';
import type { ConflictRecord } from '../../src/core/settle.ts';
import { fileChange } from '../helpers/file-change.ts';
import { cleanup, startAgent, startHub, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

/** Runs `warmsync ARGS` to its end, with no agent state of this machine in the way. */
async function cli(args: string[], cwd?: string): Promise<{ code: number; output: string }> {
  const run = startCli(args, { env: { XDG_STATE_HOME: tempDir('warmsync-xdg-') }, cwd });
  const code = await run.process.exited;
  return { code, output: await run.finished() };
}

const copiesIn = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.includes('.conflict-'))
    .sort();
const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');

/**
 * Three agents on one workspace and two files, each edited on all three while B and C were
 * offline: A's versions keep the paths, and B's and C's (in that order) go to copies, two per path.
 */
async function threeWayConflicts() {
  const hub = startHub();
  const a = await startAgent(hub);
  const stateB = tempDir('warmsync-state-');
  const stateC = tempDir('warmsync-state-');
  let b: Agent = await startAgent(hub, { stateDir: stateB });
  let c: Agent = await startAgent(hub, { stateDir: stateC });
  const dirs = [a.tree.root, b.tree.root, c.tree.root];
  for (const name of ['one.txt', 'two.txt']) writeFileSync(join(a.tree.root, name), `${name} base\n`);
  await waitConverged(dirs);
  const ids = { a: a.agentId, b: b.agentId, c: c.agentId };
  await b.stop();
  await c.stop();
  for (const [who, dir] of [
    ['B', dirs[1]!],
    ['C', dirs[2]!],
  ] as const)
    for (const name of ['one.txt', 'two.txt']) writeFileSync(join(dir, name), `${name} from ${who}\n`);
  const head = (await hub.store.changesSince('test', 0, 1)).head;
  for (const name of ['one.txt', 'two.txt']) writeFileSync(join(dirs[0]!, name), `${name} from A\n`);
  await waitUntil(async () => (await hub.store.changesSince('test', 0, 1)).head >= head + 2, 'A to push');
  b = await startAgent(hub, { dir: dirs[1], stateDir: stateB });
  await waitConverged(dirs.slice(0, 2), 'B to settle its conflicts');
  c = await startAgent(hub, { dir: dirs[2], stateDir: stateC });
  await waitConverged(dirs, 'C to settle its conflicts');
  expect(copiesIn(dirs[0]!)).toHaveLength(4);
  return { hub, dirs, ids };
}

describe('warmsync conflicts', () => {
  it('lists each conflict with its copy, the agents on both sides and the hub sequence, oldest first', async () => {
    const { hub, ids } = await threeWayConflicts();
    const { code, output } = await cli(['conflicts', '--server', hub.url, '--workspace', 'test', '--json']);
    expect(code).toBe(0);
    const conflicts = JSON.parse(output) as ConflictRecord[];
    expect(conflicts.map((c) => [c.path, c.keptAgent, c.copyAgent])).toEqual(
      expect.arrayContaining([
        ['one.txt', ids.a, ids.b],
        ['two.txt', ids.a, ids.b],
        ['one.txt', ids.a, ids.c],
        ['two.txt', ids.a, ids.c],
      ]),
    );
    expect(conflicts).toHaveLength(4);
    const seqs = conflicts.map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    for (const c of conflicts) {
      expect(c.copyPath).toStartWith(c.path.replace('.txt', `.conflict-${c.copyAgent}-`));
      expect(Number.isNaN(Date.parse(c.at))).toBe(false);
    }
    const text = await cli(['conflicts', '--server', hub.url, '--workspace', 'test']);
    expect(text.output).toContain('PATH');
    expect(text.output).toContain(ids.c);
  });
});

describe('warmsync resolve --all', () => {
  const expectations = {
    current: { kept: 'A', copies: 0 },
    copy: { kept: 'C', copies: 0 },
    both: { kept: 'A', copies: 4 },
  } as const;
  for (const [keep, { kept, copies }] of Object.entries(expectations)) {
    it(`--keep ${keep} settles every conflict on all three agents`, async () => {
      const { hub, dirs } = await threeWayConflicts();
      const copyTexts = Object.fromEntries(copiesIn(dirs[0]!).map((n) => [n, read(dirs[0]!, n)]));
      const run = await cli(['resolve', '--all', '--keep', keep, '--server', hub.url, '--workspace', 'test']);
      expect(run.code).toBe(0);
      expect(run.output.trim().split('\n')).toHaveLength(4);
      await waitUntil(() => dirs.every((d) => copiesIn(d).length === copies), 'every agent to apply it');
      await waitConverged(dirs);
      for (const dir of dirs)
        for (const name of ['one.txt', 'two.txt']) expect(read(dir, name)).toBe(`${name} from ${kept}\n`);
      const listed = await cli(['conflicts', '--server', hub.url, '--workspace', 'test', '--json']);
      expect(JSON.parse(listed.output)).toEqual([]);
      expect(hub.store.auditRows('test').filter((r) => r.op === 'resolve')).toHaveLength(4);
      // Whatever a resolution deleted or replaced is still in history.
      for (const [copy, text] of Object.entries(copyTexts)) {
        const versions = await hub.store.history('test', copy);
        if (copies === 0) expect(versions[0]?.content.kind).toBe('deleted');
        expect(versions.some((v) => v.content.kind === 'file' && v.content.size === text.length)).toBe(true);
      }
    });
  }

  it('settles only the paths it is given, a copy named by its own path too, and reports an unknown one', async () => {
    const { hub, dirs } = await threeWayConflicts();
    const [copyOfTwo] = copiesIn(dirs[0]!).filter((n) => n.startsWith('two.'));
    const run = await cli([
      'resolve',
      'one.txt',
      copyOfTwo!,
      'three.txt',
      '--keep',
      'current',
      '--server',
      hub.url,
      '--workspace',
      'test',
    ]);
    expect(run.code).toBe(1);
    expect(run.output).toContain('three.txt: not settled');
    await waitUntil(() => dirs.every((d) => copiesIn(d).length === 1), 'the two settlements on every agent');
    await waitConverged(dirs);
    expect(copiesIn(dirs[0]!)[0]).toStartWith('two.conflict-');
  });

  it('refuses --keep with a value it does not know, in one line', async () => {
    const run = await cli([
      'resolve',
      '--all',
      '--keep',
      'mine',
      '--server',
      'http://127.0.0.1:9',
      '--workspace',
      'w',
    ]);
    expect(run.code).toBe(2);
    expect(run.output.trim().split('\n')).toHaveLength(1);
  });
});

describe('the cap on conflict copies', () => {
  it('keeps at most N copies of a path, deleting the oldest into history on every agent', async () => {
    const hub = startHub({ copiesPerPath: 2 });
    const watcher = await startAgent(hub);
    const push = async (agent: string, text: string, vector: Record<string, number>) => {
      const made = fileChange('app.ts', text, vector);
      const reply = await fetch(`${hub.url}/v1/workspaces/test/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: encodeEnvelope({ agent, batch: 'edits', changes: [made.change] }, [made.frame]),
      });
      expect(reply.status).toBe(200);
    };
    await push('aaaaaaaa', 'base', { aaaaaaaa: 1 });
    const agents = ['b1b1b1b1', 'b2b2b2b2', 'b3b3b3b3'];
    for (const [i, agent] of agents.entries()) await push(agent, `edit ${i + 1}`, { [agent]: 1 });
    await waitUntil(async () => (await hub.store.conflicts('test')).length === 2, 'two open conflicts');
    const open = await hub.store.conflicts('test');
    expect(open.map((c) => c.copyAgent)).toEqual(['b2b2b2b2', 'b3b3b3b3']);
    const onDisk = () => copiesIn(watcher.tree.root).map((n) => n.split('-')[1]);
    await waitUntil(
      () => JSON.stringify(onDisk()) === JSON.stringify(['b2b2b2b2', 'b3b3b3b3']),
      'the agent to hold the two newest copies only',
    );
    expect(readdirSync(watcher.tree.root).sort()).toEqual([...copiesIn(watcher.tree.root), 'app.ts']);
    const oldestCopy = (await hub.store.changesSince('test', 0, 100)).entries.find((e) =>
      e.path.includes('b1b1b1b1'),
    );
    const versions = await hub.store.history('test', oldestCopy!.path);
    expect(versions.map((v) => v.content.kind)).toEqual(['deleted', 'file']);
    const rows = hub.store.auditRows('test').filter((r) => r.op === 'resolve');
    expect(rows).toHaveLength(1);
  });
});
