/**
 * Progress of a large batch, as `warmsync status DIR --json` and the terminal show it: sampled
 * from inside the batch (at every file written and pushed), so the figures are those of work in
 * flight, not guessed afterwards.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressReport } from '../../src/core/progress.ts';
import { cleanup, createAgent, startAgent, startHub, tempDir, waitConverged } from '../helpers/harness.ts';

afterEach(cleanup);

const FILES = 300;

function bigTree(): string {
  const dir = tempDir('warmsync-tree-');
  for (let i = 0; i < FILES; i++) {
    mkdirSync(join(dir, `d${i % 10}`), { recursive: true });
    writeFileSync(join(dir, `d${i % 10}`, `f${i}.txt`), `${'x'.repeat(1000)} ${i}\n`);
  }
  return dir;
}

describe('progress of a large batch', () => {
  it('counts the initial sync of a mirror file by file, of a known total, and ends with the batch', async () => {
    const hub = startHub();
    const source = await startAgent(hub, { dir: bigTree() });
    const samples: ProgressReport[] = [];
    // The mirror is made first and started after, so its hook can read its own progress.
    const holder: { agent?: ReturnType<typeof createAgent> } = {};
    holder.agent = createAgent(hub, {
      onApplied: () => {
        const report = holder.agent?.progress();
        if (report) samples.push(report);
      },
    });
    await holder.agent.start();
    await waitConverged([source.tree.root, holder.agent.tree.root]);
    expect(samples.length).toBeGreaterThan(0);
    const files = samples.map((s) => s.filesDone);
    expect(samples.every((s) => s.label === 'initial sync')).toBe(true);
    // Folders and files: the total is what the batch writes, at least the files.
    expect(samples[0]!.filesTotal).toBeGreaterThanOrEqual(FILES);
    expect(files).toEqual([...files].sort((a, b) => a - b));
    expect(samples.at(-1)!.filesDone).toBeGreaterThan(samples[0]!.filesDone);
    expect(samples.every((s) => s.filesDone <= s.filesTotal && s.bytesDone <= s.bytesTotal)).toBe(true);
    expect(samples.at(-1)!.line).toMatch(/^initial sync: \d+\/\d+ files, [\d.]+\/[\d.]+ MB, [\d.]+ MB\/s/);
    expect(holder.agent.progress()).toBeUndefined();
    expect(holder.agent.localStatus().progress).toBeUndefined();
  }, 60_000);

  it('counts a source agent pushing its first sync in slices', async () => {
    const hub = startHub();
    const samples: ProgressReport[] = [];
    const holder: { agent?: ReturnType<typeof createAgent> } = {};
    holder.agent = createAgent(hub, {
      dir: bigTree(),
      pushSlice: 50,
      onPushed: () => {
        const report = holder.agent?.progress();
        if (report) samples.push(report);
      },
    });
    await holder.agent.start();
    // onPushed fires after each slice, before the batch counts it: six slices, 250 counted by the last.
    expect(samples.length).toBeGreaterThanOrEqual(5);
    expect(samples.map((s) => s.filesDone)).toEqual(
      [...samples.map((s) => s.filesDone)].sort((a, b) => a - b),
    );
    expect(samples.at(-1)!.filesDone).toBeGreaterThanOrEqual(200);
    expect(holder.agent.localStatus().progress).toBeUndefined();
  }, 60_000);
});
