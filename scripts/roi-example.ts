/**
 * A real ROI run end to end, on loopback: a real hub (in-process, the same wiring as `warmsync
 * serve`), a real `prometheus` scraping its /metrics every second, two real agents syncing real
 * edits (and two real conflicts), then `warmsync roi` as a child process in JSON and Markdown.
 *
 * Run on its own (`bun scripts/roi-example.ts`) it rewrites src/roi/examples/example-report.md
 * from such a run. test/roi/e2e-real-hub.test.ts runs the same scenario and checks the figures.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, startAgent, startHub, tempDir, waitConverged, waitUntil } from '../test/helpers/harness.ts';
import { startPrometheus, waitFor } from '../test/roi/prometheus-server.ts';

const ROOT = join(import.meta.dir, '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
export const EXAMPLE_CONFIG = 'src/roi/examples/roi-config.json';
export const EXAMPLE_REPORT = join(ROOT, 'src', 'roi', 'examples', 'example-report.md');
/**
 * Live edits, each waited for on the other side. The two conflicts are pushed while B is offline,
 * so their edit-to-peer times are seconds; with this many live syncs they stay above the p95.
 */
const LIVE_EDITS = 60;

/** What one run produced: the month reported on and `warmsync roi`'s two renderings. */
export interface RoiScenarioResult {
  month: string;
  json: string;
  markdown: string;
  /** Conflicts and pushed operations the hub counted, read from its own /metrics at the end. */
  hubConflicts: number;
}

/** One instant value from Prometheus, or undefined when the query has no sample. */
async function promValue(url: string, query: string): Promise<number | undefined> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
  const first = body.data?.result?.[0];
  return first ? Number(first.value[1]) : undefined;
}

/** Sum of every sample of `metric` in a Prometheus text exposition. */
function sumOf(exposition: string, metric: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
      total += Number(line.split(' ').pop());
  }
  return total;
}

async function runRoi(prometheusUrl: string, month: string, format: 'json' | 'md'): Promise<string> {
  const args = ['roi', '--prometheus', prometheusUrl, '--config', EXAMPLE_CONFIG, '--month', month];
  const proc = Bun.spawn([process.execPath, MAIN, ...args, '--format', format], {
    cwd: ROOT,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`warmsync roi --format ${format} exited ${code}: ${stderr.trim()}`);
  return stdout;
}

/**
 * Makes one conflict the way test/e2e/conflicts.test.ts does: B is stopped, both sides edit
 * `shared.ts`, A's edit reaches the hub first, then B starts again and pushes its own.
 */
async function conflict(
  hub: ReturnType<typeof startHub>,
  dirA: string,
  dirB: string,
  stateB: string,
  stopB: () => Promise<void>,
  round: number,
): Promise<() => Promise<void>> {
  await stopB();
  const headBefore = (await hub.store.changesSince('test', 0, 1)).head;
  writeFileSync(join(dirB, 'shared.ts'), `export const v = "B, round ${round}";\n`);
  writeFileSync(join(dirA, 'shared.ts'), `export const v = "A, round ${round}";\n`);
  await waitUntil(async () => (await hub.store.changesSince('test', 0, 1)).head > headBefore, 'A to push');
  const b = await startAgent(hub, { dir: dirB, stateDir: stateB });
  await waitConverged([dirA, dirB], `the trees to converge after conflict ${round}`);
  const copies = readdirSync(dirA).filter((name) => name.startsWith('shared.conflict-'));
  if (copies.length !== round) throw new Error(`expected ${round} conflict copies, found ${copies.length}`);
  return () => b.stop();
}

/**
 * Runs the scenario and stops everything it started, also on failure. Takes about 20 s: most of it
 * waiting for scrapes, since Prometheus only sees a counter grow between two scrapes.
 */
export async function runRoiScenario(log: (line: string) => void = () => {}): Promise<RoiScenarioResult> {
  const month = new Date().toISOString().slice(0, 7);
  const hub = startHub();
  const prometheus = await startPrometheus(hub.port);
  try {
    const scraped = (query: string, atLeast: number) =>
      waitFor(`Prometheus to scrape ${query} >= ${atLeast}`, 20_000, async () => {
        return ((await promValue(prometheus.url, query)) ?? -1) >= atLeast;
      });
    const a = await startAgent(hub);
    const dirA = a.tree.root;
    const stateB = join(tempDir('warmsync-state-b-'), 'state');
    const first = await startAgent(hub, { stateDir: stateB });
    const dirB = first.tree.root;
    let stopB = () => first.stop();
    log(`hub ${hub.url}, Prometheus ${prometheus.url}, agents on ${dirA} and ${dirB}`);

    // Series appear on their first sample, and increase() counts growth between samples only, so
    // every series the report reads is first created and scraped, and only then grown.
    writeFileSync(join(dirA, 'shared.ts'), 'export const v = 0;\n');
    await waitConverged([dirA, dirB]);
    stopB = await conflict(hub, dirA, dirB, stateB, stopB, 1);
    await scraped('sum(workspace_sync_conflicts_total)', 1);
    await scraped('count(workspace_sync_duration_seconds_count)', 1);

    for (let i = 0; i < LIVE_EDITS; i++) {
      const [from, to] = i % 2 === 0 ? [dirA, dirB] : [dirB, dirA];
      const name = `module-${i % 4}.ts`;
      const content = `export const value${i} = ${JSON.stringify('x'.repeat(200 + 50 * i))};\n`;
      writeFileSync(join(from, name), content);
      await waitUntil(
        () => existsSync(join(to, name)) && Bun.file(join(to, name)).size === content.length,
        `${name} to reach the other agent`,
      );
    }
    await waitConverged([dirA, dirB]);
    stopB = await conflict(hub, dirA, dirB, stateB, stopB, 2);

    // The report is only right once Prometheus holds the hub's final counts.
    const exposition = await (await fetch(`${hub.url}/metrics`)).text();
    const hubConflicts = sumOf(exposition, 'workspace_sync_conflicts_total');
    const hubOperations = sumOf(exposition, 'workspace_sync_operations_total');
    await scraped('sum(workspace_sync_conflicts_total)', hubConflicts);
    await scraped('sum(workspace_sync_operations_total)', hubOperations);
    log(`Prometheus holds ${hubOperations} operations and ${hubConflicts} conflicts; running warmsync roi`);

    const json = await runRoi(prometheus.url, month, 'json');
    const markdown = await runRoi(prometheus.url, month, 'md');
    await stopB();
    return { month, json, markdown, hubConflicts };
  } finally {
    await prometheus.stop();
    await cleanup();
  }
}

if (import.meta.main) {
  const result = await runRoiScenario((line) => console.error(line));
  const header = [
    '<!-- Rendered by `bun scripts/roi-example.ts` from a real run: a hub, two agents syncing edits',
    `     (with ${result.hubConflicts} conflicts), a real Prometheus scraping the hub every second, then`,
    `     \`warmsync roi --config ${EXAMPLE_CONFIG} --month ${result.month}\`. Regenerate with the same command. -->`,
    '',
  ].join('\n');
  writeFileSync(EXAMPLE_REPORT, header + result.markdown);
  console.error(`wrote ${EXAMPLE_REPORT}`);
}
