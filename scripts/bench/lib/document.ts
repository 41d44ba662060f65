/** BENCHMARKS.md: the table of one full run, the machine it ran on, the method, how to reproduce. */
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { INSTALL_PACKAGES, REPLAY_PACKAGE, REPLAY_VERSIONS } from './fixtures.ts';
import { REPO_ROOT, run } from './procs.ts';
import { formatValue, type Row } from './report.ts';

async function firstLine(cmd: string[]): Promise<string> {
  try {
    const { stdout } = await run(cmd, { okCodes: [0, 1] });
    return new TextDecoder().decode(stdout).split('\n')[0]!.trim();
  } catch {
    return 'unknown';
  }
}

export async function renderDocument(result: {
  table: string;
  rows: readonly Row[];
  runs: number;
  seconds: number;
  failures: readonly string[];
  /** Sections of the old file the run does not make (see kept-sections.ts), kept after the table. */
  kept?: string;
}): Promise<string> {
  const commit = await firstLine(['git', '-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']);
  const rsync = await firstLine(['rsync', '--version']);
  const zstd = await firstLine(['zstd', '--version']);
  const targets = result.rows.filter((r) => r.met !== undefined);
  const met = targets.filter((r) => r.met);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  // Other work on the machine skews figures; the load averages at the end say how busy it was.
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' / ');
  const bound = result.rows.find((r) => r.baseline?.name.startsWith('zstd'))?.baseline?.value;
  const rsyncZ = result.rows.find((r) => r.baseline?.name.startsWith('rsync -az to'))?.baseline?.value;
  const boundNote =
    bound !== undefined && rsyncZ !== undefined && 0.15 * rsyncZ < bound
      ? `\nOn this replay \`rsync -z\` moved ${(rsyncZ / bound).toFixed(2)}x the zstd -19 bound, so the target of 0.15x rsync -z
(${formatValue(0.15 * rsyncZ, 'B')}) lies below the information bound (${formatValue(bound, 'B')}): no encoding of these steps can
meet it, and the bound target is the one to follow. The wire figures count both legs (source agent to hub, hub to
mirror agent) and both directions; the mirror-leg row shows the download alone.\n`
      : '';
  return `# Benchmarks

Produced by \`npm run bench\` (\`bun scripts/bench/main.ts\`) on ${new Date().toISOString().slice(0, 10)} at commit ${commit}.
Machine: ${cpus().length} x ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Linux ${release()}; Bun ${Bun.version}; ${rsync}; ${zstd}.
Suite time: ${Math.round(result.seconds)} s; load average at the end (1 / 5 / 15 min): ${load}. Each figure is the median of ${result.runs} run(s) unless the runs column says otherwise.

Every warmsync figure measures whole processes: \`warmsync serve\` and \`warmsync agent\` are started through the CLI as
child processes (the fan-out clients excepted, see below), with \`--no-prewarm\`: background pre-warming runs npm
against the registry, which would make the figures depend on the network and the runs not offline. Each baseline ran in the same invocation on the same
machine, so the ratio column is the figure to compare across machines; the absolute numbers move with the machine.

Targets met: ${met.length} of ${targets.length}.

${result.table}
${boundNote}${result.failures.length > 0 ? `\nBenches that failed in this run:\n${result.failures.map((f) => `- ${f.split('\n')[0]}`).join('\n')}\n` : ''}
${result.kept ? `${result.kept}\n` : ''}## What each bench does

**Edit replay.** ${REPLAY_VERSIONS.length} published versions of \`${REPLAY_PACKAGE}\` (${REPLAY_VERSIONS[0]} to ${REPLAY_VERSIONS[REPLAY_VERSIONS.length - 1]}, fetched once with \`npm pack\`)
are applied in order to a source folder the way \`git checkout\` does: files whose bytes changed are rewritten in
place, new ones created, removed ones deleted. One agent runs on the source, another on an empty mirror, both
through a byte-counting TCP proxy on loopback in front of \`warmsync serve\`: the wire bytes are everything that
crosses the proxy in both directions (HTTP, WebSocket framing, headers), not the program's own counters. A step's
edit-to-peer time runs from the first write until every changed path on the mirror holds the new bytes (or is gone),
seen through \`fs.watch\` on the mirror with a 1-10 ms polling safety net. Bytes are counted until the proxy has been
quiet for 300 ms. Baselines: \`rsync -az --delete\` to a loopback rsync daemon over the same steps (\`--stats\` total
bytes sent + received; its time is one client run per step), and the information bound, \`zstd -19\` of each step's
\`git diff --no-index --binary\`.

**Single-file edit.** After the replay, one-line edits to \`lib/core.ts\` (each appends a comment to one line, the
next edit waits for the previous one to reach the mirror plus 20 ms). Edit-to-peer from \`writeFile\` on the source
to the mirror holding the bytes. Baseline: one \`rsync -az\` run of the tree after each edit.

**Initial sync.** An installed dependency tree (\`npm install ${INSTALL_PACKAGES.join(' ')}\`, made once) synced as a
folder of its own, with \`--sync-node-modules\` for the \`node_modules\` folders nested in it. *Empty hub*: the
mirror agent already runs; the clock starts when the source agent process is spawned and stops when the mirror holds
every file with its full size, then \`sync\`. *Hub has it*: the source agent is stopped, and a new agent on a new empty
folder is spawned. Both mirrors are checked byte for byte with \`diff -r\` afterwards (not timed). Baselines: \`rsync -a\`
to a loopback rsync daemon into an empty folder, and \`cp -a\` on the same disk, each followed by \`sync\`. *Generated tree*: the
same empty-hub sync of a generated tree of 100,000 files and about 1 GB (\`scripts/bench/lib/fixtures.ts\`, made once
from a fixed seed: sources of 0.2 to 10 KB, 100 to a folder, and one file in 400 of 100 KB to 10 MB, half of those
incompressible), run alternately with \`rsync -a\` of it to a loopback daemon; the mirror is polled four walks of it
apart, so that the poll does not take a core from the processes measured (\`--quick\`: 2,000 files). No run's
files, warmsync's or a baseline's, are removed before the bench ends: on this disk, files made in the minutes after a
mass removal cost several times the system time (see "First sync on an undisturbed disk").

**Fan-out.** One \`warmsync serve\`, one CLI agent whose folder is edited, and 1,000 live-protocol clients in one
separate process (\`scripts/bench/fan-out-clients.ts\`): each has its own WebSocket and agent id, answers every
notification with a cursor message as the agent does, and timestamps its arrival. Small files travel inline in the
notification, so arrival means the client holds the new content. Figures: from the edit's \`writeFile\` until the
last client has it (p50/p95 over the edits), and the serve process's VmHWM from \`/proc/<pid>/status\`. Baseline: a bare
Bun WebSocket server (\`scripts/bench/fan-out-floor.ts\`) relaying a message of the same size to as many clients,
timed from the POST that triggers it. *Dashboard pages*: the same single-hub run on a workspace of 20,000
small files, alternating with one that also holds ten live dashboard event streams of one logged-in session
(\`scripts/bench/dashboard-viewers.ts\`, logging in with the link \`serve\` prints); the ratio is to the run
without a page, and the hub's CPU share over the edits comes from \`/proc/<pid>/stat\`.

**Idle + checkout.** A generated git repository of 100,000 small source files (100 a folder) with a branch that
rewrites 3,000 of them. One agent on the work tree, one on a mirror. Idle: 60 s without
edits; CPU share of one core over the whole 60 s from \`utime + stime\` in \`/proc/<pid>/stat\` (the three 20 s windows
are in the note: a rescan or a garbage collection lands in one of them), RSS sampled each second from \`/proc/<pid>/status\`
(VmHWM since start, which includes the initial sync, is in the note). Baseline: a bare Bun process with a recursive
\`fs.watch\` on the same tree over the same seconds. Checkout: from the start of \`git checkout\` until the mirror holds
every rewritten file; the agent logs are searched for EMFILE. Baseline: the checkout's own time plus one \`rsync -a\`
run of the tree to a loopback daemon that held the previous state.

**Large file.** One 4 GiB file of pseudo-random bytes (AES-128-CTR of zeros under a fixed key, so every run
has the same bytes and content-defined chunking cuts real, distinct chunks; 256 MiB with \`--quick\`), synced from a
source agent to a mirror agent through the hub, each behind its own byte-counting proxy. *First sync*: the
mirror agent already runs; from the source agent's spawn until the mirror's file has its full size and its last
MiB, then \`cmp\`. *Change*: 1 MiB overwritten in place near the middle (a different offset and different bytes each
run), from the write until the mirror's file holds the new bytes; the agents' peak RSS while it syncs is the larger
of VmHWM (reset through \`/proc/PID/clear_refs\` just before the write) and VmRSS sampled every 20 ms; wire bytes are
everything the proxies carried, both agents and both directions, until they are quiet for 1 s. The mirror is
compared with \`cmp\` after the last change. Baselines: \`rsync -a\` of the file to a loopback rsync daemon, into an
empty folder for the first sync and onto the previous version for each change (rsync's delta transfer; its
\`--stats\` bytes sent and received).

**Git checkout.** A clone of this repository (its own history, no other project's) at the 21st newest commit of
its first-parent history, one agent on the clone and one on an empty mirror. Each of the next 20 commits is checked
out in turn (\`git checkout --detach\`), and timed from git's exit until the mirror holds every path \`git diff
--name-only\` names between the two commits with the new bytes (or is gone), seen as in the edit replay. Figures: p50
and p95 over the 20 checkouts, the median of those over the runs. Baseline: the same checkouts in another clone, each
followed by one \`rsync -a --delete --exclude=/.git\` run of the work tree to a loopback rsync daemon, timed from git's
exit until rsync is done.

## How to reproduce

\`\`\`sh
apt-get install -y rsync zstd git     # the baselines; npm fetches the fixtures on the first run
npm run bench                          # the whole suite (45 to 60 minutes on 2 cores), rewrites this file
bun scripts/bench/main.ts --only edit-replay          # one bench: edit-replay, initial-sync, fan-out, idle, checkout, large-file
bun scripts/bench/main.ts --only fan-out --quick      # smoke run: smaller inputs, one run, this file untouched
bun scripts/bench/main.ts --only fsync-cost,auth-cost,hub-durability --runs 5 --no-write   # the cost sections
bun scripts/bench/main.ts --runs 5                    # more runs per median
\`\`\`

Downloaded tarballs, the installed tree and the generated repository are kept in \`~/.cache/warmsync-bench\` (or
\`$WARMSYNC_BENCH_CACHE\`), so reruns are offline. Scratch folders go under the OS temp folder and are removed.
Figures are reported against targets as met or not met; nothing here fails a build on a number, since a shared
machine's noise would make such a check flaky.

`;
}
