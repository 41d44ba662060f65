/**
 * A clean Debian root filesystem to install the dev container feature into, without a container engine.
 *
 * `cachedRootfs` bootstraps one with `debootstrap --variant=minbase` once and keeps it in a folder under
 * the OS temp dir keyed by suite, mirror and packages. `ChrootRun.create` lays a throw-away overlay on
 * top of it for each run (a copy where overlayfs is missing), so every run starts from the same clean
 * tree and the cache is never written. Processes run in it with `chroot`, which shares the machine's
 * network namespace: loopback servers outside are reachable inside.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What to bootstrap. */
export interface RootfsSpec {
  mirror: string;
  suite: string;
  /** Extra packages for `debootstrap --include`. */
  include: string[];
}

/** The outcome of a command that ran to completion. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a command on this machine and collects its output; never throws on a non-zero exit. */
export async function runHost(argv: string[], options: { cwd?: string; timeoutMs?: number } = {}) {
  const child = Bun.spawn(argv, {
    cwd: options.cwd,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: options.timeoutMs,
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { exitCode, stdout, stderr } satisfies CommandResult;
}

async function mustRunHost(argv: string[], options: { cwd?: string; timeoutMs?: number } = {}) {
  const result = await runHost(argv, options);
  if (result.exitCode !== 0) {
    throw new Error(`${argv.join(' ')} exited with ${result.exitCode}:\n${result.stderr.slice(-4000)}`);
  }
  return result;
}

/** Installs debootstrap with apt-get when this machine lacks it. */
export async function ensureDebootstrap(): Promise<void> {
  if (Bun.which('debootstrap')) return;
  const install = ['apt-get', 'install', '-y', '--no-install-recommends', 'debootstrap'];
  if ((await runHost(install, { timeoutMs: 300_000 })).exitCode === 0) return;
  await mustRunHost(['apt-get', 'update'], { timeoutMs: 300_000 });
  await mustRunHost(install, { timeoutMs: 300_000 });
}

/** Removes a folder, refusing to cross into anything still mounted below it. */
async function removeTree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const mounted = mountPointsUnder(path);
  if (mounted.length > 0) throw new Error(`refusing to remove ${path}: still mounted: ${mounted.join(', ')}`);
  await mustRunHost(['rm', '-rf', '--one-file-system', path]);
}

/** Mount points at or below `path`, deepest first. */
export function mountPointsUnder(path: string): string[] {
  const points = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((point): point is string => point !== undefined)
    // /proc/self/mounts escapes spaces and other odd bytes as octal.
    .map((point) =>
      point.replace(/\\([0-7]{3})/g, (_, code: string) => String.fromCharCode(Number.parseInt(code, 8))),
    )
    .filter((point) => point === path || point.startsWith(`${path}/`));
  return points.sort((a, b) => b.length - a.length);
}

/**
 * The path of a bootstrapped root filesystem for `spec`, building it on first use.
 *
 * Invariant: a cache entry is used only once its `complete` marker exists; a build happens in a
 * private folder and is renamed into place, so an interrupted build never leaves a usable half tree.
 */
export async function cachedRootfs(
  spec: RootfsSpec,
  cacheRoot = join(tmpdir(), 'warmsync-devcontainer-rootfs'),
  log: (line: string) => void = () => {},
): Promise<string> {
  const key = createHash('sha256')
    .update(JSON.stringify({ variant: 'minbase', ...spec, include: [...spec.include].sort() }))
    .digest('hex')
    .slice(0, 12);
  const entry = join(cacheRoot, `${spec.suite}-${key}`);
  const rootfs = join(entry, 'rootfs');
  if (existsSync(join(entry, 'complete'))) return rootfs;

  await ensureDebootstrap();
  mkdirSync(cacheRoot, { recursive: true });
  const building = `${entry}.building-${process.pid}`;
  await removeTree(building);
  mkdirSync(building);
  log(`bootstrapping ${spec.suite} from ${spec.mirror} into ${entry} (once; later runs reuse it)`);
  const started = performance.now();
  const argv = ['debootstrap', '--variant=minbase', `--include=${spec.include.join(',')}`, spec.suite];
  const result = await runHost([...argv, join(building, 'rootfs'), spec.mirror], { timeoutMs: 900_000 });
  if (result.exitCode !== 0) {
    await removeTree(building);
    throw new Error(
      `debootstrap failed (${result.exitCode}):\n${(result.stdout + result.stderr).slice(-4000)}`,
    );
  }
  writeFileSync(join(building, 'complete'), `${new Date().toISOString()}\n`);
  if (existsSync(join(entry, 'complete'))) {
    await removeTree(building); // another run finished first
  } else {
    await removeTree(entry);
    renameSync(building, entry);
  }
  log(`bootstrapped in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return rootfs;
}

/** Who to run as inside the root filesystem. */
export interface ChrootUser {
  uid: number;
  gid: number;
  home: string;
}

/** Options for a command run inside the root filesystem. */
export interface ChrootCommandOptions {
  /** The whole environment inside; nothing leaks in from this machine. PATH defaults to a Debian one. */
  env?: Record<string, string>;
  user?: ChrootUser;
  cwd?: string;
  timeoutMs?: number;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * One throw-away root filesystem on top of a cached one, with /proc and /dev/shm mounted.
 *
 * Invariant: `dispose` kills every process whose root is inside this tree before unmounting, and
 * removes the folder only when nothing is mounted below it any more.
 */
export class ChrootRun {
  private constructor(
    /** Folder holding the overlay's layers and the merged tree. */
    readonly dir: string,
    /** The root filesystem as seen from this machine. */
    readonly root: string,
  ) {}

  /** Lays a fresh overlay over `lower` in a new folder under `runsRoot`. */
  static async create(
    lower: string,
    runsRoot = join(tmpdir(), 'warmsync-devcontainer-runs'),
  ): Promise<ChrootRun> {
    mkdirSync(runsRoot, { recursive: true });
    await ChrootRun.removeAbandoned(runsRoot);
    const dir = join(runsRoot, `run-${process.pid}-${crypto.randomUUID().slice(0, 8)}`);
    const root = join(dir, 'root');
    for (const part of ['upper', 'work', 'root']) mkdirSync(join(dir, part), { recursive: true });
    const run = new ChrootRun(dir, root);
    try {
      const layers = `lowerdir=${lower},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`;
      const overlay = await runHost(['mount', '-t', 'overlay', 'overlay', '-o', layers, root]);
      if (overlay.exitCode !== 0) await mustRunHost(['cp', '-a', `${lower}/.`, root], { timeoutMs: 300_000 });
      await mustRunHost(['mount', '-t', 'proc', 'proc', join(root, 'proc')]);
      mkdirSync(join(root, 'dev/shm'), { recursive: true });
      await mustRunHost(['mount', '-t', 'tmpfs', '-o', 'mode=1777', 'tmpfs', join(root, 'dev/shm')]);
    } catch (error) {
      await run.dispose();
      throw error;
    }
    return run;
  }

  /** Cleans up runs left by test processes that died before their own cleanup. */
  private static async removeAbandoned(runsRoot: string): Promise<void> {
    for (const name of readdirSync(runsRoot)) {
      const pid = Number(/^run-(\d+)-/.exec(name)?.[1]);
      if (!pid || pid === process.pid || existsSync(`/proc/${pid}`)) continue;
      await new ChrootRun(join(runsRoot, name), join(runsRoot, name, 'root')).dispose();
    }
  }

  /** The path on this machine of `inside`, an absolute path inside the root filesystem. */
  path(inside: string): string {
    return join(this.root, inside);
  }

  /** Looks a user up in the root filesystem's /etc/passwd. */
  user(name: string): ChrootUser {
    for (const line of readFileSync(this.path('/etc/passwd'), 'utf8').split('\n')) {
      const [user, , uid, gid, , home] = line.split(':');
      if (user === name && uid && gid && home) return { uid: Number(uid), gid: Number(gid), home };
    }
    throw new Error(`no user ${name} in ${this.root}`);
  }

  /** Runs `argv` inside, as root unless `user` is given, with exactly the environment in `env`. */
  async run(argv: string[], options: ChrootCommandOptions = {}): Promise<CommandResult> {
    const env = { PATH: DEFAULT_PATH, HOME: options.user?.home ?? '/root', ...options.env };
    const userspec = options.user ? [`--userspec=${options.user.uid}:${options.user.gid}`] : [];
    const pairs = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    // `cd` happens inside, after the chroot, so that the command starts where a lifecycle hook would.
    const enter = ['/bin/sh', '-c', 'cd "$0" && exec "$@"', options.cwd ?? '/'];
    return runHost(['chroot', ...userspec, this.root, '/usr/bin/env', '-i', ...pairs, ...enter, ...argv], {
      timeoutMs: options.timeoutMs,
    });
  }

  /** Pids of the processes whose root directory is this tree. */
  processes(): number[] {
    const pids: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const root = readlinkSync(`/proc/${name}/root`);
        if (root === this.root || root.startsWith(`${this.root}/`)) pids.push(Number(name));
      } catch {
        // The process ended while we looked, or is not ours to inspect.
      }
    }
    return pids;
  }

  /** Kills what runs inside, unmounts everything and removes the folder. Safe to call twice. */
  async dispose(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const pids = this.processes();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await Bun.sleep(100);
    }
    for (const point of mountPointsUnder(this.dir)) {
      if ((await runHost(['umount', point])).exitCode !== 0) await runHost(['umount', '-l', point]);
    }
    await removeTree(this.dir);
  }
}
