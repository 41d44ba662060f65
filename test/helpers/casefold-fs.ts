/**
 * A real case-insensitive, case-preserving folder on Linux (as on macOS and Windows), for tests:
 * the FUSE file system in `casefold-fs/casefold.c`, compiled on first use (cached by the hash of
 * its source) and mounted over a fresh temporary folder.
 *
 * @example
 * const mount = await mountCaseInsensitive();
 * test.skipIf(!mount)('...', ...);
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './harness.ts';

const SOURCE = join(import.meta.dir, 'casefold-fs', 'casefold.c');

export interface CaseInsensitiveMount {
  /** The mount point: a case-insensitive view of a private backing folder. */
  dir: string;
  /** The backing folder, as stored on the (case-sensitive) Linux file system. */
  backing: string;
  unmount: () => Promise<void>;
}

/** Why a mount cannot be had on this machine, or undefined when it can. */
export function caseInsensitiveUnavailable(): string | undefined {
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing';
  for (const tool of ['cc', 'pkg-config', 'fusermount3']) {
    if (Bun.spawnSync(['sh', '-c', `command -v ${tool}`]).exitCode !== 0) return `${tool} is missing`;
  }
  if (Bun.spawnSync(['pkg-config', '--exists', 'fuse3']).exitCode !== 0) return 'libfuse3-dev is missing';
  return undefined;
}

/** The compiled file system, built once per version of its source. */
function binary(): string {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const folder = join(tmpdir(), 'warmsync-casefold-build');
  const target = join(folder, `casefold-${hash}`);
  if (existsSync(target)) return target;
  mkdirSync(folder, { recursive: true });
  // Built under a private name and renamed: test files running at once never see half a binary.
  const partial = `${target}.${process.pid}`;
  const flags = Bun.spawnSync(['pkg-config', '--cflags', '--libs', 'fuse3']).stdout.toString().trim();
  const build = Bun.spawnSync(['sh', '-c', `cc -O2 -Wall -o "${partial}" "${SOURCE}" ${flags}`]);
  if (build.exitCode !== 0) throw new Error(`cannot build casefold: ${build.stderr.toString()}`);
  renameSync(partial, target);
  return target;
}

function mounted(dir: string): boolean {
  const table = readFileSync('/proc/self/mountinfo', 'utf8');
  return table.split('\n').some((line) => line.split(' ')[4] === dir);
}

/**
 * Mounts a case-insensitive folder, unmounted by the harness's `cleanup()` (or `unmount()`).
 * Resolves undefined only when the machine lacks FUSE or a C compiler with libfuse3.
 */
export async function mountCaseInsensitive(): Promise<CaseInsensitiveMount | undefined> {
  if (caseInsensitiveUnavailable()) return undefined;
  const program = binary();
  const root = mkdtempSync(join(tmpdir(), 'warmsync-casefold-'));
  const backing = join(root, 'backing');
  const dir = join(root, 'mnt');
  mkdirSync(backing);
  mkdirSync(dir);
  // -f: stay in the foreground as this child; -s: one thread; auto_unmount: a killed test leaves
  // no stale mount behind.
  const child = Bun.spawn([program, backing, dir, '-f', '-s', '-o', 'auto_unmount'], {
    stdout: 'ignore',
    stderr: 'pipe',
  });
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (!mounted(dir)) {
    if (exited) {
      const stderr = await new Response(child.stderr as ReadableStream<Uint8Array>).text();
      rmSync(root, { recursive: true, force: true });
      throw new Error(`casefold did not mount: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  let done = false;
  const unmount = async () => {
    if (done) return;
    done = true;
    if (Bun.spawnSync(['fusermount3', '-u', dir]).exitCode !== 0) Bun.spawnSync(['umount', '-l', dir]);
    if (!exited) {
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await child.exited;
      clearTimeout(killer);
    }
    rmSync(root, { recursive: true, force: true });
  };
  onCleanup(unmount);
  return { dir, backing, unmount };
}
