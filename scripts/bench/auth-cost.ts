/**
 * Cost of the hub's security checks: the edit-replay and fan-out benches run in pairs, once
 * against a hub that asks for no credential (`serve --no-auth`) and once against one that does,
 * every agent holding a workspace credential of its own (made with the admin credential, as
 * `warmsync token create` makes it) and the fan-out's live clients the admin credential. The
 * checks both modes run (Host and Origin, body and list bounds, zod parsing) are not priced here:
 * they came with the same commits as the credentials, and the commits before them differ in too
 * much else to stand as a baseline.
 *
 * The runs alternate (no-auth, credentials, no-auth, ...) so that the noise of a shared machine
 * falls on both modes alike; each figure is the median over the runs of one mode. The benches are
 * called unchanged, one run each: the mode reaches the hubs and agents through
 * WARMSYNC_BENCH_HUB_TOKEN, which lib/procs.ts reads each time it starts one.
 */
import { randomBytes } from 'node:crypto';
import { type BenchOptions, editReplay } from './edit-replay.ts';
import { fanOut } from './fan-out.ts';
import { HUB_TOKEN_ENV } from './lib/procs.ts';
import type { Row } from './lib/report.ts';
import { median } from './lib/stats.ts';

type Mode = 'no-auth' | 'credentials';

/** One figure of a bench's rows, found by its bench, metric and how its baseline's name starts. */
interface Figure {
  bench: string;
  metric: string;
  baseline: string;
}

const EDIT_REPLAY: readonly Figure[] = [
  { bench: 'edit replay', metric: 'wire bytes, all steps', baseline: 'zstd' },
  { bench: 'edit replay', metric: 'edit-to-peer per step, p50', baseline: 'rsync' },
  { bench: 'edit replay', metric: 'edit-to-peer per step, p95', baseline: 'rsync' },
  { bench: 'single-file edit', metric: 'edit-to-peer p50', baseline: 'rsync' },
  { bench: 'single-file edit', metric: 'edit-to-peer p95', baseline: 'rsync' },
];
const FAN_OUT: readonly Figure[] = [
  { bench: 'fan-out', metric: 'edit until every agent has it, p50', baseline: 'bare' },
  { bench: 'fan-out', metric: 'edit until every agent has it, p95', baseline: 'bare' },
  { bench: 'fan-out', metric: 'server peak RSS (VmHWM)', baseline: 'bare' },
];

interface Samples {
  figure: Figure;
  unit: string;
  noAuth: number[];
  credentials: number[];
}

export async function authCost(options: BenchOptions): Promise<Row[]> {
  if (process.env[HUB_TOKEN_ENV]) throw new Error(`${HUB_TOKEN_ENV} is set already, so no run would be open`);
  const samples = new Map<Figure, Samples>();
  const modes: Mode[] = ['no-auth', 'credentials'];
  for (let pair = 0; pair < options.runs; pair++) {
    for (const [name, bench, figures] of [
      ['edit-replay', editReplay, EDIT_REPLAY],
      ['fan-out', fanOut, FAN_OUT],
    ] as const) {
      for (const mode of modes) {
        const label = `auth-cost pair ${pair + 1}/${options.runs}, ${name}, ${mode}`;
        const started = performance.now();
        const token = mode === 'credentials' ? randomBytes(24).toString('base64url') : undefined;
        const rows = await withHubToken(token, () =>
          bench({
            quick: options.quick,
            runs: 1,
            singleReplica: true,
            log: (line) => options.log(`[${label}] ${line}`),
          }),
        );
        for (const figure of figures) {
          const row = findRow(rows, figure);
          let s = samples.get(figure);
          if (!s) {
            s = { figure, unit: row.unit, noAuth: [], credentials: [] };
            samples.set(figure, s);
          }
          (mode === 'no-auth' ? s.noAuth : s.credentials).push(row.value);
        }
        const now = figures.map((f) => `${f.metric} ${findRow(rows, f).value.toFixed(3)}`);
        options.log(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s; ${now.join('; ')}`);
      }
    }
  }
  return [...samples.values()].map((s): Row => {
    const perPair = s.credentials.map((c, i) => (c / s.noAuth[i]!).toFixed(2)).join(' / ');
    return {
      bench: s.figure.bench,
      metric: `${s.figure.metric}, with credentials`,
      note: `per pair ${perPair}x`,
      value: median(s.credentials),
      unit: s.unit,
      baseline: { name: 'serve --no-auth, alternating runs', value: median(s.noAuth) },
      runs: s.credentials.length,
    };
  });
}

function findRow(rows: readonly Row[], figure: Figure): Row {
  const row = rows.find(
    (r) =>
      r.bench === figure.bench && r.metric === figure.metric && r.baseline?.name.startsWith(figure.baseline),
  );
  if (!row) throw new Error(`no row '${figure.bench}: ${figure.metric}' in the bench's output`);
  return row;
}

/** Runs `fn` with hubs asking `token` (none: --no-auth), then restores the variable. */
async function withHubToken<T>(token: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env[HUB_TOKEN_ENV];
  if (token === undefined) delete process.env[HUB_TOKEN_ENV];
  else process.env[HUB_TOKEN_ENV] = token;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[HUB_TOKEN_ENV];
    else process.env[HUB_TOKEN_ENV] = before;
  }
}
