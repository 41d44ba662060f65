/**
 * Cost of durable writes: the initial-sync and edit-replay benches run in pairs, once with the
 * agent's default durability (each slice of staged remote versions flushed to disk before its
 * renames, and the renames flushed before the state records them) and once with `--no-fsync`.
 * The runs alternate (durable, no-fsync, durable, no-fsync, ...) so that the noise of a shared
 * machine falls on both modes alike. Each figure is the median over the runs of one mode, held
 * against the requirement that durability costs at most 10 %; the rsync baselines the two benches
 * measure anyway come from the same runs (the median over both modes).
 *
 * The benches themselves are called unchanged, one run each: the mode reaches the agents through
 * WARMSYNC_BENCH_AGENT_ARGS, which lib/procs.ts reads each time it starts an agent.
 */
import { type BenchOptions, editReplay } from './edit-replay.ts';
import { initialSync } from './initial-sync.ts';
import type { Row } from './lib/report.ts';
import { median } from './lib/stats.ts';

const AGENT_ARGS_ENV = 'WARMSYNC_BENCH_AGENT_ARGS';
/** Durable over no-fsync, at most. */
const MAX_RATIO = 1.1;

type Mode = 'durable' | 'no-fsync';

/** One figure of a bench's rows, found by its bench and metric, with the rsync baseline beside it. */
interface Figure {
  bench: string;
  metric: string;
  /** How the rsync baseline's name starts (the bench may hold the same metric against other baselines). */
  rsync: string;
}

const INITIAL_SYNC: readonly Figure[] = [
  { bench: 'initial sync', metric: 'empty hub: source agent start to mirror complete', rsync: 'rsync -a ' },
  { bench: 'initial sync', metric: 'hub has it: mirror agent start to mirror complete', rsync: 'rsync -a ' },
];
const EDIT_REPLAY: readonly Figure[] = [
  { bench: 'edit replay', metric: 'edit-to-peer per step, p50', rsync: 'rsync -az ' },
  { bench: 'edit replay', metric: 'edit-to-peer per step, p95', rsync: 'rsync -az ' },
  { bench: 'single-file edit', metric: 'edit-to-peer p50', rsync: 'rsync -az ' },
];

/** The samples of one figure: one per run of each mode, and the rsync baseline of every run. */
interface Samples {
  figure: Figure;
  unit: string;
  rsyncName: string;
  durable: number[];
  noFsync: number[];
  rsync: number[];
}

export async function fsyncCost(options: BenchOptions): Promise<Row[]> {
  const base = process.env[AGENT_ARGS_ENV]?.split(' ').filter(Boolean) ?? [];
  if (base.includes('--no-fsync'))
    throw new Error(`${AGENT_ARGS_ENV} already holds --no-fsync, so no run would be durable`);
  const samples = new Map<Figure, Samples>();
  const record = (figures: readonly Figure[], rows: readonly Row[], mode: Mode) => {
    for (const figure of figures) {
      const row = findRow(rows, figure);
      let s = samples.get(figure);
      if (!s) {
        s = { figure, unit: row.unit, rsyncName: row.baseline!.name, durable: [], noFsync: [], rsync: [] };
        samples.set(figure, s);
      }
      (mode === 'durable' ? s.durable : s.noFsync).push(row.value);
      s.rsync.push(row.baseline!.value);
    }
  };

  const modes: Mode[] = ['durable', 'no-fsync'];
  for (let pair = 0; pair < options.runs; pair++) {
    for (const [name, bench, figures] of [
      ['initial-sync', initialSync, INITIAL_SYNC],
      ['edit-replay', editReplay, EDIT_REPLAY],
    ] as const) {
      for (const mode of modes) {
        const label = `fsync-cost pair ${pair + 1}/${options.runs}, ${name}, ${mode}`;
        const started = performance.now();
        const rows = await withAgentArgs(mode === 'durable' ? base : [...base, '--no-fsync'], () =>
          bench({ quick: options.quick, runs: 1, log: (line) => options.log(`[${label}] ${line}`) }),
        );
        record(figures, rows, mode);
        const figuresNow = figures.map((f) => `${f.metric} ${findRow(rows, f).value.toFixed(3)}`);
        options.log(
          `${label}: ${((performance.now() - started) / 1000).toFixed(1)} s; ${figuresNow.join('; ')}`,
        );
      }
    }
  }
  return [...samples.values()].flatMap((s) => rowsOf(s, options.runs));
}

/** The durable figure against --no-fsync (the target row), then against rsync. */
function rowsOf(s: Samples, pairs: number): Row[] {
  const durable = median(s.durable);
  const noFsync = median(s.noFsync);
  const rsync = median(s.rsync);
  const perPair = s.durable.map((d, i) => `${(d / s.noFsync[i]!).toFixed(2)}`).join(' / ');
  return [
    {
      bench: s.figure.bench,
      metric: `${s.figure.metric}, durable`,
      note: `per pair ${perPair}x`,
      value: durable,
      unit: s.unit,
      baseline: { name: 'agent --no-fsync, alternating runs', value: noFsync },
      target: `<= ${MAX_RATIO.toFixed(2)}x --no-fsync`,
      met: durable <= MAX_RATIO * noFsync,
      runs: pairs,
    },
    {
      bench: s.figure.bench,
      metric: `${s.figure.metric}, durable`,
      note: `--no-fsync ${(noFsync / rsync).toFixed(2)}x rsync; rsync median of ${s.rsync.length} runs`,
      value: durable,
      unit: s.unit,
      baseline: { name: s.rsyncName, value: rsync },
      runs: pairs,
    },
  ];
}

function findRow(rows: readonly Row[], figure: Figure): Row {
  const row = rows.find(
    (r) =>
      r.bench === figure.bench && r.metric === figure.metric && r.baseline?.name.startsWith(figure.rsync),
  );
  if (!row?.baseline)
    throw new Error(
      `no row '${figure.bench}: ${figure.metric}' against ${figure.rsync.trim()} in the bench's output`,
    );
  return row;
}

/** Runs `fn` with the given extra flags for every agent it starts, then restores the variable. */
async function withAgentArgs<T>(args: readonly string[], fn: () => Promise<T>): Promise<T> {
  const before = process.env[AGENT_ARGS_ENV];
  process.env[AGENT_ARGS_ENV] = args.join(' ');
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[AGENT_ARGS_ENV];
    else process.env[AGENT_ARGS_ENV] = before;
  }
}
