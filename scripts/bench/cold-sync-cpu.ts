/**
 * Where a first sync's CPU goes, process by process: one cold sync of the installed dependency
 * tree (the initial-sync bench's, see lib/fixtures.ts) from an empty hub, then a new mirror
 * catching up from the hub that has it, each `warmsync` process started through the CLI. Prints
 * the two wall times and each process's CPU seconds (user + system, from /proc) at the end of
 * each phase, as JSON. The initial-sync bench gives the ratio to rsync; this one tells builds
 * apart by the work they do, which moves less with a shared disk than the wall time does: run it
 * at two commits alternately and compare.
 *
 *   bun scripts/bench/cold-sync-cpu.ts [--keep]
 *
 * The scratch folder is removed at the end (after the figures are taken) unless `--keep`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installedTree } from './lib/fixtures.ts';
import { readProc, run } from './lib/procs.ts';
import { startSession } from './lib/session.ts';
import { fileSizes, waitForSizes } from './lib/size-watch.ts';
import { scratchDir } from './lib/trees.ts';

const AGENT_ARGS = ['--sync-node-modules'];
const COMPLETE_TIMEOUT_MS = 600_000;

const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });
const tree = await installedTree();
const scratch = scratchDir('cold-sync-cpu');
const source = join(scratch, 'source');
await run(['cp', '-a', tree, source]);
const expected = fileSizes(source);
const mirror = join(scratch, 'mirror');
const mirror2 = join(scratch, 'mirror2');
mkdirSync(mirror);
mkdirSync(mirror2);
const session = await startSession(scratch);
const cpu = (pid: number) => Number(readProc(pid).cpuSeconds.toFixed(2));
try {
  const mirrorAgent = await session.addAgent(mirror, 'mirror', AGENT_ARGS);
  await run(['sync']);
  const hubBefore = cpu(session.serve.pid);
  const mirrorBefore = cpu(mirrorAgent.pid);
  const started = performance.now();
  const complete = waitForSizes(mirror, expected, COMPLETE_TIMEOUT_MS);
  const sourceAgent = await session.addAgent(source, 'source', AGENT_ARGS, false);
  await complete;
  await run(['sync']);
  const coldMs = performance.now() - started;
  const cold = {
    wallSeconds: Number((coldMs / 1000).toFixed(2)),
    hubCpu: Number((cpu(session.serve.pid) - hubBefore).toFixed(2)),
    mirrorCpu: Number((cpu(mirrorAgent.pid) - mirrorBefore).toFixed(2)),
    sourceCpu: cpu(sourceAgent.pid),
  };
  await sourceAgent.stop();
  await run(['sync']);
  const hubBeforeWarm = cpu(session.serve.pid);
  const warmStarted = performance.now();
  const warmComplete = waitForSizes(mirror2, expected, COMPLETE_TIMEOUT_MS);
  const newMirror = await session.addAgent(mirror2, 'mirror2', AGENT_ARGS, false);
  await warmComplete;
  await run(['sync']);
  const warm = {
    wallSeconds: Number(((performance.now() - warmStarted) / 1000).toFixed(2)),
    hubCpu: Number((cpu(session.serve.pid) - hubBeforeWarm).toFixed(2)),
    mirrorCpu: cpu(newMirror.pid),
  };
  console.log(JSON.stringify({ files: expected.size, cold, warm }));
} finally {
  await session.stop();
  if (!values.keep) rmSync(scratch, { recursive: true, force: true });
}
