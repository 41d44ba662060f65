#!/usr/bin/env bun
/**
 * The performance suite: runs each bench (whole `warmsync serve` / `warmsync agent` processes,
 * several runs, medians, baselines measured in the same invocation), prints a Markdown table and
 * writes BENCHMARKS.md.
 *
 * Usage: bun scripts/bench/main.ts [--only NAME[,NAME]] [--quick] [--runs N] [--no-write]
 * Names: edit-replay, initial-sync, fan-out, idle, checkout, large-file (the suite), and fsync-cost, which reruns
 * initial-sync and edit-replay with and without --no-fsync, and auth-cost, which reruns edit-replay
 * and fan-out with and without credentials, and hub-durability, which prices the hub's flushes;
 * those three run only when named.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { authCost } from './auth-cost.ts';
import { checkout } from './checkout.ts';
import { type BenchOptions, editReplay } from './edit-replay.ts';
import { fanOut } from './fan-out.ts';
import { fsyncCost } from './fsync-cost.ts';
import { hubDurability } from './hub-durability.ts';
import { idle } from './idle.ts';
import { initialSync } from './initial-sync.ts';
import { largeFile } from './large-file.ts';
import { renderDocument } from './lib/document.ts';
import { keptSectionsOf } from './lib/kept-sections.ts';
import { REPO_ROOT, run } from './lib/procs.ts';
import type { Row } from './lib/report.ts';
import { renderTable } from './lib/report.ts';

const BENCHES: Record<string, (options: BenchOptions) => Promise<Row[]>> = {
  'edit-replay': editReplay,
  'initial-sync': initialSync,
  'fan-out': fanOut,
  idle,
  checkout,
  'large-file': largeFile,
  'fsync-cost': fsyncCost,
  'auth-cost': authCost,
  'hub-durability': hubDurability,
};
/** Benches left out of the suite unless named with --only: they repeat the others. */
const ONLY_WHEN_NAMED = new Set(['fsync-cost', 'auth-cost', 'hub-durability']);

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    `Usage: bun scripts/bench/main.ts [--only ${Object.keys(BENCHES).join(',')}] [--quick] [--runs N] [--no-write]`,
  );
  process.exit(0);
}
const names = values.only
  ? values.only.split(',').map((n) => n.trim())
  : Object.keys(BENCHES).filter((n) => !ONLY_WHEN_NAMED.has(n));
for (const name of names) {
  if (!BENCHES[name]) {
    console.error(`unknown bench '${name}'; one of: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
}
const quick = values.quick ?? false;
const runs = values.runs ? Number(values.runs) : quick ? 1 : 3;
if (!Number.isInteger(runs) || runs < 1) {
  console.error('--runs must be a positive integer');
  process.exit(2);
}
for (const tool of ['rsync', 'zstd', 'git', 'npm']) {
  if ((await run(['sh', '-c', `command -v ${tool}`], { okCodes: [0, 1, 127] })).code !== 0) {
    console.error(`${tool} is needed by the benches (apt-get install rsync zstd git npm)`);
    process.exit(2);
  }
}

const started = performance.now();
const rows: Row[] = [];
const failures: string[] = [];
const log = (line: string) => console.error(`[bench] ${line}`);
for (const name of names) {
  const benchStarted = performance.now();
  log(`${name}: starting${quick ? ' (quick)' : ''}, ${runs} run(s)`);
  try {
    rows.push(...(await BENCHES[name]!({ quick, runs, log })));
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push(`${name}: ${message}`);
    log(`${name}: FAILED: ${message}`);
  }
  log(`${name}: ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
}
const seconds = (performance.now() - started) / 1000;
const table = renderTable(rows);
console.log(table);
if (failures.length > 0)
  console.log(`\nFailed benches:\n${failures.map((f) => `- ${f.split('\n')[0]}`).join('\n')}`);
console.log(`\nSuite time: ${seconds.toFixed(0)} s`);
if (!values['no-write'] && !quick && values.only === undefined) {
  const document = join(REPO_ROOT, 'BENCHMARKS.md');
  writeFileSync(
    document,
    await renderDocument({ table, rows, runs, seconds, failures, kept: keptSectionsOf(document) }),
  );
  log('wrote BENCHMARKS.md');
}
process.exit(failures.length > 0 ? 1 : 0);
