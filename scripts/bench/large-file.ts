/**
 * One large file: a 4 GiB file of deterministic pseudo-random bytes (so content-defined chunking
 * cuts real chunks and nothing deduplicates) synced from a source agent to a mirror agent through
 * a hub, then 1 MiB in its middle overwritten in place, once per run at a different offset.
 * Figures for each change: both agents' peak RSS while it syncs (VmHWM, reset through
 * /proc/PID/clear_refs before the write, and VmRSS sampled every 20 ms), the time from the write
 * until the mirror's copy holds the new bytes, and the bytes both legs moved meanwhile, against
 * the changed region's size. The first sync is timed too, with the agents' peak RSS.
 * Baselines in the same invocation: `rsync -a` of the file to a loopback rsync daemon, into an
 * empty folder for the first sync and onto the previous version for each change (rsync's delta
 * transfer: its `--stats` bytes are the wire figure to compare).
 */
import { closeSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './edit-replay.ts';
import { readProc, run } from './lib/procs.ts';
import type { Row } from './lib/report.ts';
import { rsyncTo, startRsyncDaemon } from './lib/rsyncd.ts';
import { startSession } from './lib/session.ts';
import { median } from './lib/stats.ts';
import { scratchDir } from './lib/trees.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const REGION_BYTES = 1 * MiB;
const RSS_TARGET_BYTES = 300 * MiB;

export async function largeFile(options: BenchOptions): Promise<Row[]> {
  const size = options.quick ? 256 * MiB : 4 * GiB;
  const scratch = scratchDir('large-file');
  const source = join(scratch, 'source');
  const mirror = join(scratch, 'mirror');
  const name = 'big.bin';
  await run(['mkdir', '-p', source, mirror]);
  const generated = performance.now();
  await writePseudoRandom(join(source, name), size);
  options.log(
    `large-file: wrote ${(size / GiB).toFixed(2)} GiB in ${((performance.now() - generated) / 1000).toFixed(1)} s`,
  );
  const session = await startSession(scratch);
  const daemon = await startRsyncDaemon(join(scratch, 'rsyncd'), join(scratch, 'rsync-dest'));
  try {
    // First sync: the mirror agent runs, the clock starts when the source agent is spawned.
    const mirrorAgent = await session.addAgent(mirror, 'mirror');
    const t0 = performance.now();
    const sourceAgent = await session.addAgent(source, 'source', [], false);
    const expectedTail = readRegion(join(source, name), size - REGION_BYTES, REGION_BYTES);
    await waitRegion(join(mirror, name), size, size - REGION_BYTES, expectedTail, 1_800_000, () => {});
    const firstMs = performance.now() - t0;
    await run(['cmp', join(source, name), join(mirror, name)]);
    const firstPeak = Math.max(readProc(sourceAgent.pid).hwmBytes, readProc(mirrorAgent.pid).hwmBytes);
    options.log(
      `large-file: first sync ${(firstMs / 1000).toFixed(1)} s, agents' peak RSS ${(firstPeak / MiB).toFixed(0)} MiB, ${(session.total() / MiB).toFixed(1)} MiB on the wire`,
    );
    const rsyncFirst = await rsyncTo(daemon, source, ['-a']);
    options.log(`large-file: rsync -a of the first version ${(rsyncFirst.ms / 1000).toFixed(1)} s`);

    const changeMs: number[] = [];
    const changeBytes: number[] = [];
    const peakSource: number[] = [];
    const peakMirror: number[] = [];
    const rsyncMs: number[] = [];
    const rsyncBytes: number[] = [];
    const legs: { text: string; largest: number }[] = [];
    for (let r = 0; r < options.runs; r++) {
      await session.quiet(2000, 120_000);
      // A different region each run (and different bytes), all near the middle.
      const offset = Math.floor(size / 2 / MiB) * MiB + r * 7 * MiB + 12_345;
      const region = pseudoRandom(REGION_BYTES, 0x1234567 + r);
      for (const pid of [sourceAgent.pid, mirrorAgent.pid]) resetPeak(pid);
      options.log(
        `large-file: before change ${r + 1}: RSS source ${(readProc(sourceAgent.pid).rssBytes / MiB).toFixed(0)} / mirror ${(readProc(mirrorAgent.pid).rssBytes / MiB).toFixed(0)} MiB`,
      );
      const samples = { source: 0, mirror: 0 };
      const sample = () => {
        samples.source = Math.max(samples.source, readProc(sourceAgent.pid).rssBytes);
        samples.mirror = Math.max(samples.mirror, readProc(mirrorAgent.pid).rssBytes);
      };
      const bytes0 = session.total();
      const traffic0 = session.traffic();
      const started = performance.now();
      const fd = openSync(join(source, name), 'r+');
      try {
        writeSync(fd, region, 0, region.length, offset);
      } finally {
        closeSync(fd);
      }
      await waitRegion(join(mirror, name), size, offset, region, 600_000, sample);
      const ms = performance.now() - started;
      await session.quiet(1000, 60_000);
      sample();
      const wire = session.total() - bytes0;
      legs.push(legsSince(traffic0, session.traffic()));
      const source_ = Math.max(samples.source, readProc(sourceAgent.pid).hwmBytes);
      const mirror_ = Math.max(samples.mirror, readProc(mirrorAgent.pid).hwmBytes);
      changeMs.push(ms);
      changeBytes.push(wire);
      peakSource.push(source_);
      peakMirror.push(mirror_);
      const baseline = await rsyncTo(daemon, source, ['-a']);
      rsyncMs.push(baseline.ms);
      rsyncBytes.push(baseline.wireBytes);
      options.log(
        `large-file: change ${r + 1}: mirror has it at ${(ms / 1000).toFixed(2)} s, ${(wire / MiB).toFixed(2)} MiB on the wire (${legs.at(-1)!.text}), peak RSS source ${(source_ / MiB).toFixed(0)} / mirror ${(mirror_ / MiB).toFixed(0)} MiB; rsync -a ${(baseline.ms / 1000).toFixed(2)} s, ${(baseline.wireBytes / MiB).toFixed(2)} MiB`,
      );
    }
    await run(['cmp', join(source, name), join(mirror, name)]);
    const bench = 'large file';
    const label = `${(size / GiB).toFixed(size >= GiB ? 0 : 2)} GiB`;
    const peaks = peakSource.map((s, i) => Math.max(s, peakMirror[i]!));
    const peak = median(peaks);
    const wire = median(changeBytes);
    const largest = legs.map((leg) => leg.largest);
    return [
      {
        bench,
        metric: `first sync of one ${label} pseudo-random file, source agent start to mirror complete`,
        note: `agents' peak RSS ${(firstPeak / MiB).toFixed(0)} MiB`,
        value: firstMs / 1000,
        unit: 's',
        baseline: { name: 'rsync -a to loopback daemon', value: rsyncFirst.ms / 1000 },
        runs: 1,
      },
      {
        bench,
        metric: `${REGION_BYTES / MiB} MiB overwritten in the middle, until the mirror has it`,
        note: `per run ${changeMs.map((x) => (x / 1000).toFixed(2)).join(' / ')} s`,
        value: median(changeMs) / 1000,
        unit: 's',
        baseline: { name: 'rsync -a onto the old version, loopback daemon', value: median(rsyncMs) / 1000 },
        runs: changeMs.length,
      },
      {
        bench,
        metric: 'agent peak RSS while that change syncs (larger of the two agents)',
        note: `source ${peakSource.map((x) => (x / MiB).toFixed(0)).join(' / ')} MiB, mirror ${peakMirror.map((x) => (x / MiB).toFixed(0)).join(' / ')} MiB`,
        value: peak,
        unit: 'B',
        target: '<= 300 MiB',
        met: peak <= RSS_TARGET_BYTES,
        runs: peaks.length,
      },
      {
        bench,
        metric: 'wire bytes of that change, both legs',
        note: `the region holds ${REGION_BYTES / MiB} MiB; first run ${legs[0]!.text}`,
        value: wire,
        unit: 'B',
        baseline: { name: 'rsync -a --stats, sent + received', value: median(rsyncBytes) },
        runs: changeBytes.length,
      },
      {
        bench,
        metric:
          "wire bytes of that change, largest single leg (the source's upload or the mirror's download)",
        note: `per run ${largest.map((x) => `${(x / 1024).toFixed(0)} KiB`).join(' / ')}`,
        value: median(largest),
        unit: 'B',
        baseline: { name: 'the changed region', value: REGION_BYTES },
        target: '<= 2x the region (only changed chunks)',
        met: median(largest) <= 2 * REGION_BYTES,
        runs: largest.length,
      },
    ];
  } finally {
    await session.stop();
    await daemon.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Bytes each agent moved between two readings of the session's counters, by leg: as text, and the
 * largest single leg (the source's upload or the mirror's download, each of which should carry
 * the changed chunks once).
 */
function legsSince(
  before: ReadonlyMap<string, { up: number; down: number }>,
  after: ReadonlyMap<string, { up: number; down: number }>,
): { text: string; largest: number } {
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  let largest = 0;
  const text = [...after]
    .map(([name, { up, down }]) => {
      const was = before.get(name) ?? { up: 0, down: 0 };
      largest = Math.max(largest, up - was.up, down - was.down);
      return `${name} up ${kib(up - was.up)}, down ${kib(down - was.down)}`;
    })
    .join('; ');
  return { text, largest };
}

/**
 * Resets the process's VmHWM to its current RSS (Linux: 5 written to clear_refs), so the next
 * reading is the peak of what follows, not of the first sync.
 */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** `length` pseudo-random bytes (xorshift32 from `seed`): the same bytes for the same seed. */
function pseudoRandom(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, length);
}

/**
 * Writes a file of `size` pseudo-random bytes: AES-128-CTR over zeros with a fixed key, so every
 * run makes the same bytes, at the cipher's speed rather than a JavaScript loop's.
 */
async function writePseudoRandom(path: string, size: number): Promise<void> {
  const key = '000102030405060708090a0b0c0d0e0f';
  await run([
    'sh',
    '-c',
    `openssl enc -aes-128-ctr -nosalt -K ${key} -iv 0 -in /dev/zero 2>/dev/null | head -c ${size} > "$1"`,
    'sh',
    path,
  ]);
  if (statSync(path).size !== size) throw new Error(`made ${statSync(path).size} of ${size} bytes`);
}

function readRegion(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, out, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return out.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Polls every 20 ms until the file at `path` has `size` bytes and holds `bytes` at `offset`. */
async function waitRegion(
  path: string,
  size: number,
  offset: number,
  bytes: Uint8Array,
  maxMs: number,
  onTick: () => void,
): Promise<void> {
  const started = performance.now();
  for (;;) {
    onTick();
    try {
      if (statSync(path).size === size && Buffer.compare(readRegion(path, offset, bytes.length), bytes) === 0)
        return;
    } catch {
      // Not there yet.
    }
    if (performance.now() - started > maxMs) throw new Error(`${path} lacks the new bytes after ${maxMs} ms`);
    await Bun.sleep(20);
  }
}
