/**
 * Fan-out: 1,000 live clients connected to one `warmsync serve` process, and one edit made in the
 * folder of a real CLI agent, fanned out to all. Figures: time from the edit until every client
 * has the notification (p50/p95 over edits), per-client delivery, and the server's RSS read from
 * /proc. Baseline in the same invocation: a bare Bun WebSocket server relaying a message of the
 * same size to the same number of clients (the transport's floor).
 *
 * Dashboard variant: the same single-hub run with open dashboard pages (live event streams on
 * one logged-in session, scripts/bench/dashboard-viewers.ts), run alternately with the plain one,
 * so that the cost of the page's live update shows beside the same run's figures without it.
 *
 * Scale-out variant (when redis-server and PostgreSQL are installed): the same clients spread over
 * three `warmsync serve` replicas sharing PostgreSQL, Redis and a chunk folder, the editing agent on
 * the first replica, beside the single-process figure of the same run.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BenchOptions } from './edit-replay.ts';
import { BUN, type Child, readProc, spawnChild, startAgent, startServe } from './lib/procs.ts';
import type { Row } from './lib/report.ts';
import { median, nowMs, percentile } from './lib/stats.ts';
import { scratchDir } from './lib/trees.ts';

const CLIENTS_SCRIPT = resolve(import.meta.dir, 'fan-out-clients.ts');
const FLOOR_SCRIPT = resolve(import.meta.dir, 'fan-out-floor.ts');
const VIEWERS_SCRIPT = resolve(import.meta.dir, 'dashboard-viewers.ts');

interface Delivery {
  /** Edit until the last client had it, per edit. */
  allMs: number[];
  /** Median and p95 over clients, per edit. */
  clientP50: number[];
  clientP95: number[];
  messageBytes: number;
  rssBytes: number;
  hwmBytes: number;
  /** The hub's CPU time over the edits' wall time (share of one core). */
  cpuShare: number;
}

export async function fanOut(options: BenchOptions): Promise<Row[]> {
  const clients = options.quick ? 200 : 1000;
  const edits = options.quick ? 5 : 20;
  const pages = options.quick ? 3 : DASHBOARD_PAGES;
  const scratch = scratchDir('fan-out');
  try {
    const ours: Delivery[] = [];
    const floor: Delivery[] = [];
    const watched: Delivery[] = [];
    const unwatched: Delivery[] = [];
    const treeFiles = options.quick ? 2000 : DASHBOARD_TREE_FILES;
    for (let r = 0; r < options.runs; r++) {
      const a = await warmsyncOnce(join(scratch, `run${r}`), clients, edits);
      ours.push(a);
      const b = await floorOnce(clients, edits, a.messageBytes);
      floor.push(b);
      options.log(
        `fan-out run ${r + 1}: all ${clients} p50 ${median(a.allMs).toFixed(1)} ms p95 ${percentile(a.allMs, 0.95).toFixed(1)} ms, RSS ${(a.rssBytes / 1048576).toFixed(0)} MB, hub CPU ${(a.cpuShare * 100).toFixed(1)} %; floor p95 ${percentile(b.allMs, 0.95).toFixed(1)} ms`,
      );
      if (options.singleReplica) continue;
      for (const [into, open] of [
        [unwatched, 0],
        [watched, pages],
      ] as const) {
        const d = await warmsyncOnce(join(scratch, `pages${open}-${r}`), clients, edits, {
          dashboardPages: open,
          treeFiles,
        });
        into.push(d);
        options.log(
          `fan-out run ${r + 1} on a ${treeFiles}-file workspace, ${open} dashboard pages open: p50 ${median(d.allMs).toFixed(1)} ms p95 ${percentile(d.allMs, 0.95).toFixed(1)} ms, hub CPU ${(d.cpuShare * 100).toFixed(1)} %`,
        );
      }
    }
    const scaled = options.singleReplica ? [] : await scaleOutRuns(scratch, clients, edits, options);
    const p = (d: Delivery[], f: (x: Delivery) => number) => median(d.map(f));
    const allP50 = p(ours, (d) => median(d.allMs));
    const allP95 = p(ours, (d) => percentile(d.allMs, 0.95));
    const rss = p(ours, (d) => d.hwmBytes);
    const bench = 'fan-out';
    const note = `${clients} live clients, ${edits} edits a run`;
    return [
      {
        bench,
        metric: 'edit until every agent has it, p50',
        note,
        value: allP50,
        unit: 'ms',
        baseline: { name: 'bare Bun WebSocket relay', value: p(floor, (d) => median(d.allMs)) },
        runs: options.runs,
      },
      {
        bench,
        metric: 'edit until every agent has it, p95',
        value: allP95,
        unit: 'ms',
        baseline: { name: 'bare Bun WebSocket relay', value: p(floor, (d) => percentile(d.allMs, 0.95)) },
        target: '<= 100 ms',
        met: allP95 <= 100,
        runs: options.runs,
      },
      {
        bench,
        metric: 'per-agent delivery p95 (median over edits)',
        value: p(ours, (d) => median(d.clientP95)),
        unit: 'ms',
        baseline: { name: 'bare Bun WebSocket relay', value: p(floor, (d) => median(d.clientP95)) },
        runs: options.runs,
      },
      ...dashboardRows(watched, unwatched, pages, treeFiles),
      ...scaled.map(
        (d, i): Row => ({
          bench,
          metric: `edit until every agent has it, ${i === 0 ? 'p50' : 'p95'}, clients over three replicas`,
          note: 'PostgreSQL, Redis and a shared chunk folder; editor on the first replica',
          value:
            i === 0 ? median(d.map((x) => median(x.allMs))) : median(d.map((x) => percentile(x.allMs, 0.95))),
          unit: 'ms',
          baseline: {
            name: 'one replica, same run',
            value: i === 0 ? allP50 : allP95,
          },
          runs: d.length,
        }),
      ),
      {
        bench,
        metric: 'server peak RSS (VmHWM)',
        value: rss,
        unit: 'B',
        baseline: { name: 'bare Bun WebSocket relay', value: p(floor, (d) => d.hwmBytes) },
        target: '<= 1 GB',
        met: rss <= 1024 ** 3,
        runs: options.runs,
      },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Open pages in the dashboard variant: a team's screens and a few tabs left open. */
const DASHBOARD_PAGES = 10;
/**
 * Files in the dashboard variant's workspace: what a page shows of a workspace (its file count and
 * bytes) must not cost the hub more on a big one.
 */
const DASHBOARD_TREE_FILES = 20_000;

/** The dashboard variant's rows, each against the runs without a page of the same invocation. */
function dashboardRows(watched: Delivery[], plain: Delivery[], pages: number, treeFiles: number): Row[] {
  if (watched.length === 0) return [];
  const p = (d: Delivery[], f: (x: Delivery) => number) => median(d.map(f));
  const bench = 'fan-out';
  const against = 'no page open, same workspace, same run';
  const figures: Array<[string, (x: Delivery) => number, string]> = [
    ['edit until every agent has it, p50', (d) => median(d.allMs), 'ms'],
    ['edit until every agent has it, p95', (d) => percentile(d.allMs, 0.95), 'ms'],
    ['hub CPU over the edits, share of one core', (d) => d.cpuShare * 100, '%'],
  ];
  return figures.map(([metric, f, unit]) => ({
    bench,
    metric: `${metric}, ${pages} dashboard pages open`,
    note: `${treeFiles}-file workspace; live event streams of one logged-in session`,
    value: p(watched, f),
    unit,
    baseline: { name: against, value: p(plain, f) },
    runs: watched.length,
  }));
}

function parseArrival(line: string): { bytes: number; min: number; p50: number; p95: number; max: number } {
  const [, , bytes, min, p50, p95, max] = line.split(' ').map(Number);
  return { bytes: bytes!, min: min!, p50: p50!, p95: p95!, max: max! };
}

async function warmsyncOnce(
  scratch: string,
  clients: number,
  edits: number,
  variant: {
    scaleOut?: { postgres: string; redis: string };
    /** Open dashboard pages (live event streams). */
    dashboardPages?: number;
    /** Small files the workspace holds besides the edited one. */
    treeFiles?: number;
  } = {},
): Promise<Delivery> {
  const { scaleOut, dashboardPages = 0, treeFiles = 0 } = variant;
  const source = join(scratch, 'source');
  mkdirSync(source, { recursive: true });
  for (let i = 0; i < treeFiles; i++) {
    const folder = join(source, 'tree', `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `f${i}.ts`), `export const value${i} = ${i};\n`);
  }
  const file = join(source, 'note.txt');
  writeFileSync(file, 'edit 0\n'.repeat(100));
  // Runs against one shared PostgreSQL each get a workspace of their own.
  const workspace = `fan-${Math.random().toString(36).slice(2, 8)}`;
  const replicaArgs = scaleOut
    ? ['--postgres', scaleOut.postgres, '--redis', scaleOut.redis, '--chunks', join(scratch, 'chunks')]
    : [];
  const replicas = [await startServe(join(scratch, 'hub'), join(scratch, 'serve.log'), replicaArgs)];
  for (let i = 1; scaleOut && i < 3; i++) {
    replicas.push(await startServe(join(scratch, `hub${i}`), join(scratch, `serve${i}.log`), replicaArgs));
  }
  const serve = replicas[0]!;
  const children: Child[] = [...replicas.slice(1)];
  try {
    const editor = await startAgent({
      dir: source,
      server: serve.url,
      workspace,
      stateDir: join(scratch, 'state-editor'),
      logFile: join(scratch, 'editor.log'),
    });
    children.push(editor);
    const ws = replicas
      .map((r) => `${r.url.replace('http://', 'ws://')}/v1/workspaces/${workspace}/live`)
      .join(',');
    const crowd = spawnChild(
      [BUN, CLIENTS_SCRIPT, 'warmsync', ws, String(clients)],
      join(scratch, 'clients.log'),
    );
    children.push(crowd);
    await crowd.waitFor(/^ready /, 120_000);
    if (dashboardPages > 0) {
      const login = /dashboard: open (\S+)/.exec(await serve.waitFor(/dashboard: open /))![1]!;
      const viewers = spawnChild(
        [BUN, VIEWERS_SCRIPT, login, String(dashboardPages)],
        join(scratch, 'viewers.log'),
      );
      children.push(viewers);
      await viewers.waitFor(/^ready /, 60_000);
    }
    await Bun.sleep(500);
    const out: Delivery = {
      allMs: [],
      clientP50: [],
      clientP95: [],
      messageBytes: 0,
      rssBytes: 0,
      hwmBytes: 0,
      cpuShare: 0,
    };
    const cpuBefore = readProc(serve.pid).cpuSeconds;
    const wallBefore = nowMs();
    for (let k = 1; k <= edits; k++) {
      const at = nowMs();
      writeFileSync(file, `edit ${k}\n`.repeat(100));
      const arrival = parseArrival(await crowd.waitFor(new RegExp(`^arrived ${k} `), 30_000));
      out.allMs.push(arrival.max - at);
      out.clientP50.push(arrival.p50 - at);
      out.clientP95.push(arrival.p95 - at);
      out.messageBytes = arrival.bytes;
      out.rssBytes = Math.max(out.rssBytes, readProc(serve.pid).rssBytes);
      await Bun.sleep(200);
    }
    const after = readProc(serve.pid);
    out.cpuShare = (after.cpuSeconds - cpuBefore) / ((nowMs() - wallBefore) / 1000);
    out.hwmBytes = after.hwmBytes;
    return out;
  } finally {
    for (const c of children) await c.stop();
    await serve.stop();
  }
}

async function floorOnce(clients: number, edits: number, messageBytes: number): Promise<Delivery> {
  const relay = spawnChild([BUN, FLOOR_SCRIPT]);
  const children: Child[] = [relay];
  try {
    const port = Number((await relay.waitFor(/^listening /)).split(' ')[1]);
    const crowd = spawnChild([BUN, CLIENTS_SCRIPT, 'floor', `ws://127.0.0.1:${port}/`, String(clients)]);
    children.push(crowd);
    await crowd.waitFor(/^ready /, 120_000);
    await Bun.sleep(500);
    const out: Delivery = {
      allMs: [],
      clientP50: [],
      clientP95: [],
      messageBytes,
      rssBytes: 0,
      hwmBytes: 0,
      cpuShare: 0,
    };
    for (let k = 1; k <= edits; k++) {
      const body = new Uint8Array(Math.max(2, messageBytes)).fill(32);
      body[0] = k & 0xff;
      body[1] = k >> 8;
      const at = nowMs();
      await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
      const arrival = parseArrival(await crowd.waitFor(new RegExp(`^arrived ${k} `), 30_000));
      out.allMs.push(arrival.max - at);
      out.clientP50.push(arrival.p50 - at);
      out.clientP95.push(arrival.p95 - at);
      out.rssBytes = Math.max(out.rssBytes, readProc(relay.pid).rssBytes);
      await Bun.sleep(200);
    }
    out.hwmBytes = readProc(relay.pid).hwmBytes;
    return out;
  } finally {
    for (const c of children.reverse()) await c.stop();
  }
}

/**
 * The scale-out runs, when redis-server and PostgreSQL are there to start (returns the p50 and
 * p95 series twice, one per row; empty when the services are missing).
 */
async function scaleOutRuns(
  scratch: string,
  clients: number,
  edits: number,
  options: BenchOptions,
): Promise<Delivery[][]> {
  const { startPostgres, startRedis, stopAllServices } = await import('../../test/helpers/services.ts');
  let services: [Awaited<ReturnType<typeof startPostgres>>, Awaited<ReturnType<typeof startRedis>>];
  try {
    services = await Promise.all([startPostgres(), startRedis()]);
  } catch (error) {
    options.log(`fan-out: no three-replica run (${(error as Error).message.split('\n')[0]})`);
    await stopAllServices();
    return [];
  }
  try {
    const runs: Delivery[] = [];
    for (let r = 0; r < options.runs; r++) {
      const d = await warmsyncOnce(join(scratch, `replicas${r}`), clients, edits, {
        scaleOut: { postgres: services[0].url, redis: services[1].url },
      });
      runs.push(d);
      options.log(
        `fan-out run ${r + 1} over three replicas: p50 ${median(d.allMs).toFixed(1)} ms p95 ${percentile(d.allMs, 0.95).toFixed(1)} ms`,
      );
    }
    return [runs, runs];
  } finally {
    await stopAllServices();
  }
}
