/**
 * The rsync baselines: a loopback rsync daemon (the same transport shape as the hub: a TCP
 * server on 127.0.0.1) and clients whose `--stats` byte counts are parsed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Child, run, spawnChild } from './procs.ts';

export interface RsyncDaemon {
  /** `rsync://127.0.0.1:PORT/bench/` serving `dest` read-write. */
  url: string;
  dest: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Starts `rsync --daemon --no-detach` on a free loopback port with one module writing to `dest`. */
export async function startRsyncDaemon(workDir: string, dest: string): Promise<RsyncDaemon> {
  mkdirSync(dest, { recursive: true });
  mkdirSync(workDir, { recursive: true });
  const conf = join(workDir, 'rsyncd.conf');
  writeFileSync(
    conf,
    [
      'use chroot = no',
      'munge symlinks = no',
      'uid = root',
      'gid = root',
      `pid file = ${join(workDir, 'rsyncd.pid')}`,
      '[bench]',
      `  path = ${dest}`,
      '  read only = no',
      '',
    ].join('\n'),
  );
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: Child = spawnChild([
      'rsync',
      '--daemon',
      '--no-detach',
      `--config=${conf}`,
      `--port=${port}`,
      '--address=127.0.0.1',
    ]);
    const url = `rsync://127.0.0.1:${port}/bench/`;
    // Ready once it answers a module listing.
    for (let i = 0; i < 100; i++) {
      const probe = await run(['rsync', `rsync://127.0.0.1:${port}/`], { okCodes: [0, 5, 10, 35] });
      if (probe.code === 0) return { url, dest, stop: () => child.stop() };
      if (child.proc.exitCode !== null) break;
      await Bun.sleep(20);
    }
    await child.stop();
    if (attempt >= 3) throw new Error(`rsync daemon did not start: ${child.lines.join('\n')}`);
  }
}

export interface RsyncResult {
  /** Total bytes sent + received, from `--stats`. */
  wireBytes: number;
  ms: number;
}

/** Runs one rsync client (`flags` such as ['-az', '--delete']) from `source/` to the daemon. */
export async function rsyncTo(daemon: RsyncDaemon, source: string, flags: string[]): Promise<RsyncResult> {
  const started = performance.now();
  const { stdout } = await run(['rsync', ...flags, '--stats', `${source.replace(/\/+$/, '')}/`, daemon.url]);
  const ms = performance.now() - started;
  const text = new TextDecoder().decode(stdout);
  const number = (label: string) => {
    const m = new RegExp(`${label}:\\s+([\\d,]+)`).exec(text);
    if (!m) throw new Error(`rsync --stats has no "${label}":\n${text}`);
    return Number(m[1]!.replaceAll(',', ''));
  };
  return { wireBytes: number('Total bytes sent') + number('Total bytes received'), ms };
}
