/**
 * Initial sync: an empty mirror catching up with a ~12,800-file installed dependency tree.
 * - cold: the mirror agent is running, the hub is empty; the clock starts when the source agent is
 *   started and stops when the mirror holds every file (then `sync`);
 * - warm: the hub already holds the tree; a fresh mirror agent on an empty folder catches up.
 * - generated: the same empty-hub sync of a generated 100,000-file, 1 GB tree.
 * Baselines in the same invocation: `rsync -a` to a loopback rsync daemon, and `cp -a` (the
 * disk's floor), each followed by `sync` before the clock stops.
 *
 * No run's files are removed before the bench ends: on this ext4 disk, files created in the
 * minutes after many others were removed cost the kernel several times the system time (a
 * profile put it in ext4's pass over recently freed inodes), which doubled a first sync run right
 * after a removal of 12,800 files (see BENCHMARKS.md). Removing between runs put that cost on
 * whichever tool ran next: the warmsync runs and `cp -a`, not `rsync -a`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './edit-replay.ts';
import { generatedTree, installedTree } from './lib/fixtures.ts';
import { run } from './lib/procs.ts';
import type { Row } from './lib/report.ts';
import { rsyncTo, startRsyncDaemon } from './lib/rsyncd.ts';
import { startSession } from './lib/session.ts';
import { fileSizes, waitForSizes } from './lib/size-watch.ts';
import { median } from './lib/stats.ts';
import { countTree, scratchDir } from './lib/trees.ts';

const AGENT_ARGS = ['--sync-node-modules'];
const QUICK_SUBSET = ['lodash', 'rxjs', 'moment'];
/** Files of the generated tree (about 1 GB); `--quick` uses a small one. */
const GENERATED_FILES = 100_000;
const GENERATED_FILES_QUICK = 2_000;
/** How long a first sync may take before the bench gives up on it. */
const COMPLETE_TIMEOUT_MS = 1_800_000;

export async function initialSync(options: BenchOptions): Promise<Row[]> {
  return [...(await installedTreeRows(options)), ...(await generatedTreeRows(options))];
}

async function installedTreeRows(options: BenchOptions): Promise<Row[]> {
  const tree = await installedTree();
  const scratch = scratchDir('initial-sync');
  try {
    // The tree is synced as a folder of its own (named "source", not node_modules); packages
    // nested inside it still have node_modules folders, hence --sync-node-modules.
    const source = join(scratch, 'source');
    if (options.quick) {
      mkdirSync(source);
      await run(['cp', '-a', ...QUICK_SUBSET.map((p) => join(tree, p)), source]);
    } else {
      await run(['cp', '-a', tree, source]);
    }
    const size = await countTree(source);
    options.log(`initial-sync: ${size.files} files, ${(size.bytes / 1024 / 1024).toFixed(1)} MB`);
    const expected = fileSizes(source);
    await run(['sync']);

    const cold: number[] = [];
    const warm: number[] = [];
    const wire: number[] = [];
    const rsyncMs: number[] = [];
    const rsyncBytes: number[] = [];
    const cpMs: number[] = [];
    for (let r = 0; r < options.runs; r++) {
      const result = await warmsyncOnce(join(scratch, `run${r}`), source, expected);
      cold.push(result.coldMs);
      warm.push(result.warmMs);
      wire.push(result.wireBytes);
      options.log(
        `initial-sync run ${r + 1}: cold ${(result.coldMs / 1000).toFixed(2)} s, warm ${(result.warmMs / 1000).toFixed(2)} s, ${result.wireBytes} B on the wire`,
      );

      const dest = join(scratch, `rsync${r}`);
      const daemon = await startRsyncDaemon(join(scratch, `rsyncd${r}`), dest);
      await run(['sync']);
      const started = performance.now();
      const result2 = await rsyncTo(daemon, source, ['-a']);
      await run(['sync']);
      rsyncMs.push(performance.now() - started);
      rsyncBytes.push(result2.wireBytes);
      await daemon.stop();
      await expectSame(source, dest);

      const copy = join(scratch, `cp${r}`);
      await run(['sync']);
      const cpStarted = performance.now();
      await run(['cp', '-a', source, copy]);
      await run(['sync']);
      cpMs.push(performance.now() - cpStarted);
      options.log(
        `initial-sync run ${r + 1}: rsync -a ${(rsyncMs[r]! / 1000).toFixed(2)} s, cp -a ${(cpMs[r]! / 1000).toFixed(2)} s`,
      );
    }
    const rsync = median(rsyncMs) / 1000;
    const note = `${size.files} files, ${(size.bytes / 1024 / 1024).toFixed(0)} MB`;
    const bench = 'initial sync';
    return [
      {
        bench,
        metric: 'empty hub: source agent start to mirror complete',
        note,
        value: median(cold) / 1000,
        unit: 's',
        baseline: { name: 'rsync -a to loopback daemon', value: rsync },
        target: '<= 1.0x rsync -a',
        met: median(cold) / 1000 <= rsync,
        runs: options.runs,
      },
      {
        bench,
        metric: 'hub has it: mirror agent start to mirror complete',
        value: median(warm) / 1000,
        unit: 's',
        baseline: { name: 'rsync -a to loopback daemon', value: rsync },
        // The hub already holds every chunk: only the mirror's fetch and writes are left.
        target: '<= 0.8x rsync -a',
        met: median(warm) / 1000 <= 0.8 * rsync,
        runs: options.runs,
      },
      {
        bench,
        metric: 'empty hub: source agent start to mirror complete',
        value: median(cold) / 1000,
        unit: 's',
        baseline: { name: 'cp -a, the disk floor', value: median(cpMs) / 1000 },
        runs: options.runs,
      },
      {
        bench,
        metric: 'wire bytes, empty hub (both agents)',
        value: median(wire),
        unit: 'B',
        baseline: { name: 'rsync -a', value: median(rsyncBytes) },
        runs: options.runs,
      },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The empty-hub sync of a generated tree far larger than the installed one, and rsync -a of it,
 * alternating run by run, from one copy of the cached tree.
 */
async function generatedTreeRows(options: BenchOptions): Promise<Row[]> {
  const tree = generatedTree(options.quick ? GENERATED_FILES_QUICK : GENERATED_FILES);
  const scratch = scratchDir('initial-sync-generated');
  try {
    const source = join(scratch, 'source');
    await run(['cp', '-a', tree.path, source]);
    const size = await countTree(source);
    if (size.files !== tree.files || size.bytes !== tree.bytes)
      throw new Error(`the generated tree in ${tree.path} is damaged: remove it and its .complete marker`);
    options.log(`initial-sync generated: ${size.files} files, ${(size.bytes / 1024 / 1024).toFixed(1)} MB`);
    const expected = fileSizes(source);
    await run(['sync']);
    const cold: number[] = [];
    const rsyncMs: number[] = [];
    for (let r = 0; r < options.runs; r++) {
      const run_ = join(scratch, `run${r}`);
      const mirror = join(run_, 'mirror');
      mkdirSync(mirror, { recursive: true });
      const session = await startSession(run_);
      try {
        await session.addAgent(mirror, 'mirror', AGENT_ARGS);
        await run(['sync']);
        const started = performance.now();
        const complete = waitForSizes(mirror, expected, COMPLETE_TIMEOUT_MS);
        await session.addAgent(source, 'source', AGENT_ARGS, false);
        await complete;
        await run(['sync']);
        cold.push(performance.now() - started);
      } finally {
        await session.stop();
      }
      await expectSame(source, mirror);

      const dest = join(scratch, `rsync${r}`);
      const daemon = await startRsyncDaemon(join(scratch, `rsyncd${r}`), dest);
      await run(['sync']);
      const started = performance.now();
      await rsyncTo(daemon, source, ['-a']);
      await run(['sync']);
      rsyncMs.push(performance.now() - started);
      await daemon.stop();
      await expectSame(source, dest);
      options.log(
        `initial-sync generated run ${r + 1}: cold ${(cold[r]! / 1000).toFixed(2)} s, rsync -a ${(rsyncMs[r]! / 1000).toFixed(2)} s`,
      );
    }
    const rsync = median(rsyncMs) / 1000;
    return [
      {
        bench: 'initial sync',
        metric: 'empty hub, generated tree: source agent start to mirror complete',
        note: `${size.files} files, ${(size.bytes / 1024 / 1024).toFixed(0)} MB`,
        value: median(cold) / 1000,
        unit: 's',
        baseline: { name: 'rsync -a to loopback daemon', value: rsync },
        target: '<= 1.0x rsync -a',
        met: median(cold) / 1000 <= rsync,
        runs: options.runs,
      },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function warmsyncOnce(
  scratch: string,
  source: string,
  expected: ReadonlyMap<string, number>,
): Promise<{ coldMs: number; warmMs: number; wireBytes: number }> {
  const mirror = join(scratch, 'mirror');
  mkdirSync(mirror, { recursive: true });
  const session = await startSession(scratch);
  try {
    await session.addAgent(mirror, 'mirror', AGENT_ARGS);
    await run(['sync']);
    const before = session.total();
    const coldStarted = performance.now();
    const coldComplete = waitForSizes(mirror, expected, COMPLETE_TIMEOUT_MS);
    const sourceAgent = await session.addAgent(source, 'source', AGENT_ARGS, false);
    await coldComplete;
    await run(['sync']);
    const coldMs = performance.now() - coldStarted;
    await session.quiet(500);
    const wireBytes = session.total() - before;
    await expectSame(source, mirror);

    // Warm: the hub holds everything; a new agent on a new empty folder catches up.
    await sourceAgent.stop();
    const mirror2 = join(scratch, 'mirror2');
    mkdirSync(mirror2);
    await run(['sync']);
    const warmStarted = performance.now();
    const warmComplete = waitForSizes(mirror2, expected, COMPLETE_TIMEOUT_MS);
    await session.addAgent(mirror2, 'mirror2', AGENT_ARGS, false);
    await warmComplete;
    await run(['sync']);
    const warmMs = performance.now() - warmStarted;
    await expectSame(source, mirror2);
    return { coldMs, warmMs, wireBytes };
  } finally {
    await session.stop();
  }
}

/** Fails unless both trees hold the same files with the same bytes (not timed). */
async function expectSame(a: string, b: string): Promise<void> {
  const result = await run(['diff', '-r', '-q', '--no-dereference', a, b], { okCodes: [0, 1] });
  if (result.code !== 0)
    throw new Error(`trees differ: ${new TextDecoder().decode(result.stdout).slice(0, 500)}`);
}
