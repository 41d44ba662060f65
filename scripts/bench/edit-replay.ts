/**
 * Edit replay: successive published versions of a real package applied to a source tree, step by
 * step as a checkout would, while two continuous agents run (one on the source, one on a mirror).
 * Per step: edit-to-peer latency and bytes on the wire (counted by a proxy). Then many single-line
 * edits to one file. Baselines in the same invocation: `rsync -az` to a loopback daemon over the
 * same steps, and the information bound, `zstd -19` of each step's binary diff.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPLAY_PACKAGE, REPLAY_VERSIONS, replayVersions } from './lib/fixtures.ts';
import { run } from './lib/procs.ts';
import type { Row } from './lib/report.ts';
import { rsyncTo, startRsyncDaemon } from './lib/rsyncd.ts';
import { startSession } from './lib/session.ts';
import { median, percentile, sum } from './lib/stats.ts';
import { applyStep, type Expectation, MirrorWatch, readTree, scratchDir, writeTree } from './lib/trees.ts';

export interface BenchOptions {
  quick: boolean;
  runs: number;
  log: (line: string) => void;
  /** Fan-out: leave out the runs over three replicas (benches that rerun fan-out to price something). */
  singleReplica?: boolean;
}

/** The file edited line by line, and how many edits. */
const EDITED_FILE = 'lib/core.ts';

export async function editReplay(options: BenchOptions): Promise<Row[]> {
  const versions = options.quick ? REPLAY_VERSIONS.slice(0, 6) : REPLAY_VERSIONS;
  const singleEdits = options.quick ? 40 : 200;
  const folders = await replayVersions(versions);
  const trees = folders.map(readTree);
  const steps = trees.length - 1;
  const scratch = scratchDir('edit-replay');
  try {
    const bound = await zstdBound(folders, scratch);
    options.log(`edit-replay: ${steps} steps of ${REPLAY_PACKAGE}, zstd -19 bound ${sum(bound)} B`);

    const runBytes: number[] = [];
    const stepP50: number[] = [];
    const stepP95: number[] = [];
    const editP50: number[] = [];
    const editP95: number[] = [];
    const editBytes: number[] = [];
    const legs: Legs[] = [];
    for (let r = 0; r < options.runs; r++) {
      const result = await replayOnce(join(scratch, `run${r}`), trees, singleEdits);
      runBytes.push(sum(result.stepBytes));
      stepP50.push(median(result.stepMs));
      stepP95.push(percentile(result.stepMs, 0.95));
      editP50.push(median(result.editMs));
      editP95.push(percentile(result.editMs, 0.95));
      editBytes.push(result.bytesPerEdit);
      legs.push(result.legs);
      options.log(
        `edit-replay run ${r + 1}: ${sum(result.stepBytes)} B on the wire (source up ${result.legs.sourceUp}, source down ${result.legs.sourceDown}, mirror up ${result.legs.mirrorUp}, mirror down ${result.legs.mirrorDown}), step p50 ${median(result.stepMs).toFixed(1)} ms; single edit p50 ${median(result.editMs).toFixed(2)} ms p95 ${percentile(result.editMs, 0.95).toFixed(2)} ms`,
      );
      rmSync(join(scratch, `run${r}`), { recursive: true, force: true });
    }

    const rsyncRuns: Array<{ bytes: number; stepMs: number[]; editMs: number[]; editBytes: number }> = [];
    for (let r = 0; r < options.runs; r++) {
      rsyncRuns.push(await rsyncOnce(join(scratch, `rsync${r}`), trees, options.quick ? 10 : 20));
      rmSync(join(scratch, `rsync${r}`), { recursive: true, force: true });
    }
    const rsyncBytes = median(rsyncRuns.map((x) => x.bytes));
    options.log(`edit-replay: rsync -az ${rsyncBytes} B`);
    const bytes = median(runBytes);
    const boundTotal = sum(bound);
    const p50 = median(editP50);
    const p95 = median(editP95);
    const bench = 'edit replay';
    const legMedian = (key: keyof Legs) => median(legs.map((l) => l[key]));
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    const note = `${steps} steps of ${REPLAY_PACKAGE} ${versions[0]}..${versions[versions.length - 1]}`;
    return [
      {
        bench,
        metric: 'wire bytes, all steps',
        note,
        value: bytes,
        unit: 'B',
        baseline: { name: 'zstd -19 of git diff --binary', value: boundTotal },
        target: '<= 1.5x zstd bound',
        met: bytes <= 1.5 * boundTotal,
        runs: options.runs,
      },
      {
        bench,
        metric: 'wire bytes, all steps',
        value: bytes,
        unit: 'B',
        baseline: { name: 'rsync -az to loopback daemon', value: rsyncBytes },
        target: '<= 0.15x rsync -z',
        met: bytes <= 0.15 * rsyncBytes,
        runs: options.runs,
      },
      {
        bench,
        metric: 'wire bytes, mirror download leg only',
        note: `source agent up ${kib(legMedian('sourceUp'))}, down ${kib(legMedian('sourceDown'))}; mirror up ${kib(legMedian('mirrorUp'))}`,
        value: legMedian('mirrorDown'),
        unit: 'B',
        baseline: { name: 'zstd -19 of git diff --binary', value: boundTotal },
        runs: options.runs,
      },
      {
        bench,
        metric: 'edit-to-peer per step, p50',
        value: median(stepP50),
        unit: 'ms',
        baseline: { name: 'rsync -az run per step', value: median(rsyncRuns.map((x) => median(x.stepMs))) },
        runs: options.runs,
      },
      {
        bench,
        metric: 'edit-to-peer per step, p95',
        value: median(stepP95),
        unit: 'ms',
        baseline: {
          name: 'rsync -az run per step',
          value: median(rsyncRuns.map((x) => percentile(x.stepMs, 0.95))),
        },
        runs: options.runs,
      },
      {
        bench: 'single-file edit',
        metric: 'edit-to-peer p50',
        note: `${singleEdits} one-line edits to ${EDITED_FILE}`,
        value: p50,
        unit: 'ms',
        baseline: {
          name: 'rsync -az run after the edit',
          value: median(rsyncRuns.map((x) => median(x.editMs))),
        },
        target: '<= 3 ms',
        met: p50 <= 3,
        runs: options.runs,
      },
      {
        bench: 'single-file edit',
        metric: 'edit-to-peer p95',
        value: p95,
        unit: 'ms',
        baseline: {
          name: 'rsync -az run after the edit',
          value: median(rsyncRuns.map((x) => percentile(x.editMs, 0.95))),
        },
        target: '<= 6 ms',
        met: p95 <= 6,
        runs: options.runs,
      },
      {
        bench: 'single-file edit',
        metric: 'wire bytes per edit',
        value: median(editBytes),
        unit: 'B',
        baseline: { name: 'rsync -az', value: median(rsyncRuns.map((x) => x.editBytes)) },
        runs: options.runs,
      },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Bytes of `zstd -19` of each step's `git diff --no-index --binary`. */
async function zstdBound(folders: string[], scratch: string): Promise<number[]> {
  const out: number[] = [];
  const patch = join(scratch, 'step.diff');
  for (let i = 1; i < folders.length; i++) {
    const diff = await run(['git', 'diff', '--no-index', '--binary', folders[i - 1]!, folders[i]!], {
      okCodes: [0, 1],
    });
    writeFileSync(patch, diff.stdout);
    const packed = await run(['zstd', '-19', '-q', '-c', patch]);
    out.push(packed.stdout.length);
  }
  return out;
}

/** Replay bytes by leg: the source agent's upload and what it gets back, the mirror's likewise. */
interface Legs {
  sourceUp: number;
  sourceDown: number;
  mirrorUp: number;
  mirrorDown: number;
}

interface ReplayResult {
  stepMs: number[];
  stepBytes: number[];
  legs: Legs;
  editMs: number[];
  bytesPerEdit: number;
}

async function replayOnce(
  scratch: string,
  trees: Array<Map<string, Uint8Array>>,
  singleEdits: number,
): Promise<ReplayResult> {
  const source = join(scratch, 'source');
  const mirror = join(scratch, 'mirror');
  writeTree(source, trees[0]!);
  writeTree(mirror, new Map());
  const session = await startSession(scratch);
  const watch = new MirrorWatch(mirror);
  try {
    await session.addAgent(source, 'source');
    await session.addAgent(mirror, 'mirror');
    const initial: Expectation = new Map(trees[0]!);
    await watch.wait(initial, 120_000);
    const stepMs: number[] = [];
    const stepBytes: number[] = [];
    await session.quiet(200);
    const legsBefore = session.traffic();
    for (let i = 1; i < trees.length; i++) {
      await session.quiet(200);
      const before = session.total();
      const started = performance.now();
      const expect = applyStep(source, trees[i - 1]!, trees[i]!);
      const at = await watch.wait(expect);
      stepMs.push(at - started);
      await session.quiet(300);
      stepBytes.push(session.total() - before);
    }
    const legsAfter = session.traffic();
    const leg = (name: string, dir: 'up' | 'down') =>
      (legsAfter.get(name)?.[dir] ?? 0) - (legsBefore.get(name)?.[dir] ?? 0);
    const legs: Legs = {
      sourceUp: leg('source', 'up'),
      sourceDown: leg('source', 'down'),
      mirrorUp: leg('mirror', 'up'),
      mirrorDown: leg('mirror', 'down'),
    };
    // Single-line edits to one file, each waited for on the mirror before the next.
    const path = join(source, EDITED_FILE);
    const lines = readFileSync(path, 'utf8').split('\n');
    const editMs: number[] = [];
    await session.quiet(300);
    const before = session.total();
    for (let k = 0; k < singleEdits; k++) {
      const line = (k * 7919) % lines.length;
      lines[line] = `${lines[line]} // edit ${k}`;
      const bytes = new TextEncoder().encode(lines.join('\n'));
      const started = performance.now();
      writeFileSync(path, bytes);
      const at = await watch.wait(new Map([[EDITED_FILE, bytes]]));
      editMs.push(at - started);
      await Bun.sleep(20);
    }
    await session.quiet(300);
    return { stepMs, stepBytes, legs, editMs, bytesPerEdit: (session.total() - before) / singleEdits };
  } finally {
    watch.close();
    await session.stop();
  }
}

async function rsyncOnce(
  scratch: string,
  trees: Array<Map<string, Uint8Array>>,
  singleEdits: number,
): Promise<{ bytes: number; stepMs: number[]; editMs: number[]; editBytes: number }> {
  const source = join(scratch, 'source');
  writeTree(source, trees[0]!);
  const daemon = await startRsyncDaemon(join(scratch, 'daemon'), join(scratch, 'dest'));
  try {
    const flags = ['-az', '--delete'];
    await rsyncTo(daemon, source, flags);
    let bytes = 0;
    const stepMs: number[] = [];
    for (let i = 1; i < trees.length; i++) {
      applyStep(source, trees[i - 1]!, trees[i]!);
      const result = await rsyncTo(daemon, source, flags);
      bytes += result.wireBytes;
      stepMs.push(result.ms);
    }
    const path = join(source, EDITED_FILE);
    const lines = readFileSync(path, 'utf8').split('\n');
    const editMs: number[] = [];
    let editBytes = 0;
    for (let k = 0; k < singleEdits; k++) {
      const line = (k * 7919) % lines.length;
      lines[line] = `${lines[line]} // edit ${k}`;
      const started = performance.now();
      writeFileSync(path, lines.join('\n'));
      const result = await rsyncTo(daemon, source, flags);
      editMs.push(performance.now() - started);
      editBytes += result.wireBytes;
    }
    return { bytes, stepMs, editMs, editBytes: editBytes / singleEdits };
  } finally {
    await daemon.stop();
  }
}
