/**
 * Cost of durable writes on the hub: the same pushes sent to a hub process in three modes, in
 * alternating order within each run so that a shared machine's noise falls on all of them:
 *
 * - `durable` (what `serve` runs): SQLite at synchronous=FULL, and each push's chunks flushed to
 *   disk in one pass before its commit;
 * - `sqlite-normal`: chunks flushed, SQLite at synchronous=NORMAL;
 * - `unflushed` (the baseline, the hub before durability): NORMAL, and no chunk flushed.
 *
 * Two workloads, both over loopback HTTP against `scripts/bench/hub-durability-serve.ts`:
 * single-file edits (one push of one small file after another's answer, as an agent sends an
 * edit), timed per push; and bulk pushes of 500 new files with their 500 chunks (what an initial
 * sync's commit envelopes carry), timed per push. Figures are medians over runs of each run's
 * median push; each mode is held against `unflushed` of the same runs.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { encodeEnvelope, makeFrame } from '../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';
import type { BenchOptions } from './edit-replay.ts';
import { BUN, spawnChild } from './lib/procs.ts';
import type { Row } from './lib/report.ts';
import { median, percentile } from './lib/stats.ts';
import { scratchDir } from './lib/trees.ts';

const SERVE_SCRIPT = resolve(import.meta.dir, 'hub-durability-serve.ts');
const MODES = ['unflushed', 'sqlite-normal', 'durable'] as const;
type Mode = (typeof MODES)[number];
const AGENT = '0a1b2c3d';
const BULK_FILES = 500;
const BULK_CHUNK_BYTES = 4096;

interface RunFigures {
  editP50: number;
  editP95: number;
  bulkP50: number;
}

export async function hubDurability(options: BenchOptions): Promise<Row[]> {
  const edits = options.quick ? 40 : 200;
  const bulkPushes = options.quick ? 3 : 10;
  const scratch = scratchDir('hub-durability');
  const figures = new Map<Mode, RunFigures[]>(MODES.map((m) => [m, []]));
  for (let r = 0; r < options.runs; r++) {
    // Each run starts with another mode, so none always runs first (or last) of the three.
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]!);
    for (const mode of order) {
      const result = await runOnce(join(scratch, `run${r}-${mode}`), mode, edits, bulkPushes);
      figures.get(mode)!.push(result);
      options.log(
        `hub-durability run ${r + 1}, ${mode}: edit p50 ${result.editP50.toFixed(2)} ms p95 ${result.editP95.toFixed(2)} ms; bulk push p50 ${result.bulkP50.toFixed(1)} ms`,
      );
    }
  }
  const of = (mode: Mode, pick: (f: RunFigures) => number) => median(figures.get(mode)!.map(pick));
  const perRun = (mode: Mode, pick: (f: RunFigures) => number) =>
    figures
      .get(mode)!
      .map((f, i) => (pick(f) / pick(figures.get('unflushed')![i]!)).toFixed(2))
      .join(' / ');
  const rows: Row[] = [];
  const workloads = [
    ['single-file edit', 'push answered, p50', (f: RunFigures) => f.editP50, `${edits} pushes of one file`],
    ['single-file edit', 'push answered, p95', (f: RunFigures) => f.editP95, undefined],
    [
      'bulk push',
      'push answered, p50',
      (f: RunFigures) => f.bulkP50,
      `${bulkPushes} pushes of ${BULK_FILES} new files and their chunks`,
    ],
  ] as const;
  for (const [bench, metric, pick, note] of workloads) {
    for (const mode of ['durable', 'sqlite-normal'] as const) {
      const label =
        mode === 'durable'
          ? 'synchronous=FULL, chunks flushed (serve)'
          : 'synchronous=NORMAL, chunks flushed';
      rows.push({
        bench: `hub: ${bench}`,
        metric: `${metric}, ${label}`,
        note: `${note ? `${note}; ` : ''}per run ${perRun(mode, pick)}x`,
        value: of(mode, pick),
        unit: 'ms',
        baseline: { name: 'synchronous=NORMAL, chunks unflushed, same runs', value: of('unflushed', pick) },
        runs: options.runs,
      });
    }
  }
  return rows;
}

async function runOnce(dir: string, mode: Mode, edits: number, bulkPushes: number): Promise<RunFigures> {
  const hub = spawnChild([BUN, SERVE_SCRIPT, join(dir, 'data'), mode]);
  try {
    const url = /listening on (\S+)/.exec(await hub.waitFor(/listening on /))![1]!;
    const push = async (body: Uint8Array<ArrayBuffer>) => {
      const started = performance.now();
      const reply = await fetch(`${url}/v1/workspaces/bench/push`, { method: 'POST', body });
      if (reply.status !== 200) throw new Error(`push answered ${reply.status}: ${await reply.text()}`);
      const { results } = (await reply.json()) as { results: Array<{ status: string }> };
      if (results.some((x) => x.status !== 'accepted')) throw new Error('a bench push was not accepted');
      return performance.now() - started;
    };
    // A warm-up push: the first opens the database's pages and the chunk folders.
    await push(envelope([file('warm.txt', randomBytes(1024), 1)]));
    const editMs: number[] = [];
    for (let k = 1; k <= edits; k++)
      editMs.push(await push(envelope([file('lib/core.ts', randomBytes(2048), k)])));
    const bulkMs: number[] = [];
    for (let p = 0; p < bulkPushes; p++) {
      const files = Array.from({ length: BULK_FILES }, (_, i) =>
        file(`bulk/${p}/${i}.js`, randomBytes(BULK_CHUNK_BYTES), 1),
      );
      bulkMs.push(await push(envelope(files)));
    }
    return { editP50: median(editMs), editP95: percentile(editMs, 0.95), bulkP50: median(bulkMs) };
  } finally {
    await hub.stop();
  }
}

function file(path: string, bytes: Uint8Array, version: number) {
  const hash = sha256Hex(bytes);
  return {
    change: {
      path,
      vector: { [AGENT]: version },
      content: {
        kind: 'file',
        hash: fileHashFromChunks([hash]),
        size: bytes.length,
        exec: false,
        chunks: [[hash, bytes.length]],
      },
    },
    frame: makeFrame(hash, bytes),
  };
}

function envelope(files: ReturnType<typeof file>[]) {
  return encodeEnvelope(
    { agent: AGENT, changes: files.map((f) => f.change) },
    files.map((f) => f.frame),
  );
}
