/** `warmsync agent DIR --once` as a process: its exit code says whether DIR and the hub agree. */
import { afterEach, describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { startCli, stopAllCli } from '../helpers/processes.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

function once(dir: string, hub: { url: string }) {
  return startCli(['agent', dir, '--server', hub.url, '--workspace', 'test', '--state', tempDir(), '--once']);
}

describe('agent --once', () => {
  it('exits 0 after a clean sync', async () => {
    const hub = startHub();
    const dir = tempDir('warmsync-tree-');
    writeFileSync(join(dir, 'notes.md'), 'in sync');
    const run = once(dir, hub);
    expect(await run.process.exited).toBe(0);
    await waitUntil(() => run.output().includes('in sync with workspace test'), 'the closing line');
    expect(await hub.store.entry('test', 'notes.md')).toBeDefined();
  });

  it('exits non-zero, naming the path and the reason, while the hub refuses a change', async () => {
    const hub = startHub();
    const first = tempDir('warmsync-tree-');
    writeFileSync(join(first, 'README.md'), 'upper');
    expect(await once(first, hub).process.exited).toBe(0);
    // A second folder adds a name that differs only by letter case: the hub refuses it.
    const second = tempDir('warmsync-tree-');
    writeFileSync(join(second, 'readme.md'), 'lower');
    const run = once(second, hub);
    expect(await run.process.exited).not.toBe(0);
    await waitUntil(() => run.output().includes('not in sync'), 'the closing line');
    expect(run.output()).toMatch(/not in sync.*readme\.md.*case-collision/);
    expect(await hub.store.entry('test', 'readme.md')).toBeUndefined();
  });
});
