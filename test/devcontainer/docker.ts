/**
 * A Docker engine for the dev container tests, and a Debian base image built without a registry.
 *
 * `ensureDocker` makes `docker info` answer: it installs docker.io with apt-get when the daemon is
 * missing and starts `dockerd` when nothing listens, or says in one sentence why it cannot. The base
 * image is the cached debootstrap root filesystem (rootfs.ts) imported with `docker import`, plus this
 * machine's certificate authorities (registries may sit behind a TLS-inspecting proxy the machine
 * trusts), sudo and a non-root `vscode` user, as the devcontainers base images have. It is tagged
 * with a hash of everything that goes into it, so a later run finds it and builds nothing.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseDebianMirror, hostReleaseCodename, readAptSources } from './debian-mirror.ts';
import { MINUTE, remoteUserName } from './harness.ts';
import { cachedRootfs, runHost } from './rootfs.ts';

/** The same packages as the chroot tests' root filesystem, so that both share one bootstrap. */
const ROOTFS_PACKAGES = ['curl', 'ca-certificates'];
/** Where a TLS-inspecting proxy's or a company's CA certificates live on a Debian machine. */
const LOCAL_CA_DIR = '/usr/local/share/ca-certificates';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Docker is ready, or the reason it cannot be. `stop` ends a daemon this process started. */
export type DockerEngine = { ok: true; stop: () => Promise<void> } | { ok: false; reason: string };

async function dockerAnswers(): Promise<boolean> {
  if (!Bun.which('docker')) return false;
  return (
    (await runHost(['docker', 'info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 })).exitCode ===
    0
  );
}

async function installDockerPackage(): Promise<string | undefined> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || !Bun.which('apt-get')) {
    return 'dockerd is not installed and this is not root on Debian (apt-get install docker.io)';
  }
  const install = ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'docker.io'];
  if ((await runHost(install, { timeoutMs: 10 * MINUTE })).exitCode === 0) return undefined;
  await runHost(['apt-get', 'update', '-qq'], { timeoutMs: 5 * MINUTE });
  const second = await runHost(install, { timeoutMs: 10 * MINUTE });
  return second.exitCode === 0 ? undefined : `apt-get install docker.io failed: ${second.stderr.slice(-500)}`;
}

/**
 * Makes a Docker daemon answer on this machine. A daemon already running is used as it is and left
 * running; one started here logs to a file under the OS temp dir and is stopped by `stop`.
 */
export async function ensureDocker(log: (line: string) => void): Promise<DockerEngine> {
  if (await dockerAnswers()) return { ok: true, stop: async () => {} };
  if (!Bun.which('dockerd')) {
    const failure = await installDockerPackage();
    if (failure) return { ok: false, reason: failure };
  }
  if (process.getuid?.() !== 0)
    return { ok: false, reason: 'dockerd is not running and only root may start it' };
  const logFile = join(tmpdir(), 'warmsync-dockerd.log');
  log(`starting dockerd (log: ${logFile})`);
  const started = performance.now();
  const daemon = Bun.spawn(['dockerd'], {
    stdin: 'ignore',
    stdout: openSync(logFile, 'a'),
    stderr: openSync(logFile, 'a'),
  });
  const deadline = Date.now() + MINUTE;
  while (Date.now() < deadline && daemon.exitCode === null) {
    if (await dockerAnswers()) {
      log(`dockerd answered after ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const stop = async () => {
        daemon.kill('SIGTERM');
        await daemon.exited;
      };
      return { ok: true, stop };
    }
    await Bun.sleep(250);
  }
  daemon.kill('SIGKILL');
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-800) : '';
  return { ok: false, reason: `dockerd did not start within a minute:\n${tail}` };
}

/** Runs a docker command and returns its stdout, throwing with its stderr when it fails. */
export async function docker(args: string[], timeoutMs = 5 * MINUTE): Promise<string> {
  const result = await runHost(['docker', ...args], { timeoutMs });
  if (result.exitCode !== 0) {
    throw new Error(
      `docker ${args.join(' ')} exited with ${result.exitCode}:\n${result.stderr.slice(-4000)}`,
    );
  }
  return result.stdout.trim();
}

async function imageExists(tag: string): Promise<boolean> {
  return (await runHost(['docker', 'image', 'inspect', tag], { timeoutMs: 30_000 })).exitCode === 0;
}

/** The Dockerfile on top of the imported root filesystem; its text is part of the cache key. */
function baseDockerfile(rootfsImage: string): string {
  const user = remoteUserName;
  const bundle = existsSync(CA_BUNDLE) ? `COPY ca-certificates.crt ${CA_BUNDLE}\n` : '';
  return `FROM ${rootfsImage}
COPY local-ca/ ${LOCAL_CA_DIR}/
${bundle}RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sudo >/dev/null \\
 && rm -rf /var/lib/apt/lists/* \\
 && useradd --create-home --shell /bin/bash ${user} \\
 && echo '${user} ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/${user} \\
 && chmod 0440 /etc/sudoers.d/${user}
CMD ["/bin/bash"]
`;
}

/** Hashes the files of a folder (names and contents, sorted), for the cache key. */
function hashFolder(hash: ReturnType<typeof createHash>, dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(dir, name);
    hash.update(name);
    try {
      hash.update(readFileSync(path));
    } catch {
      // A folder: its name is enough.
    }
  }
}

/**
 * The tag of the Debian base image, built on first use and reused while what goes into it (the
 * mirror, suite and packages of the root filesystem, this machine's CAs, the Dockerfile) is unchanged.
 */
export async function cachedBaseImage(log: (line: string) => void): Promise<string> {
  const mirror = chooseDebianMirror(readAptSources(), hostReleaseCodename());
  if (!mirror) throw new Error('no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d');
  const spec = { ...mirror, include: ROOTFS_PACKAGES };
  const rootfsKey = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 12);
  const rootfsImage = `warmsync-devcontainer-rootfs:${rootfsKey}`;
  const dockerfile = baseDockerfile(rootfsImage);
  const hash = createHash('sha256').update(dockerfile);
  hashFolder(hash, LOCAL_CA_DIR);
  if (existsSync(CA_BUNDLE)) hash.update(readFileSync(CA_BUNDLE));
  const tag = `warmsync-devcontainer-base:${hash.digest('hex').slice(0, 12)}`;
  if (await imageExists(tag)) {
    log(`base image ${tag} is cached`);
    return tag;
  }

  const started = performance.now();
  const rootfs = await cachedRootfs(spec, undefined, log);
  if (!(await imageExists(rootfsImage))) {
    const imported = await runHost(
      ['sh', '-c', 'tar -C "$0" -c . | docker import - "$1"', rootfs, rootfsImage],
      {
        timeoutMs: 10 * MINUTE,
      },
    );
    if (imported.exitCode !== 0) throw new Error(`docker import failed:\n${imported.stderr.slice(-4000)}`);
    log(`imported ${rootfs} as ${rootfsImage} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const context = mkdtempSync(join(tmpdir(), 'warmsync-base-image-'));
  try {
    writeFileSync(join(context, 'Dockerfile'), dockerfile);
    mkdirSync(join(context, 'local-ca'));
    if (existsSync(LOCAL_CA_DIR)) cpSync(LOCAL_CA_DIR, join(context, 'local-ca'), { recursive: true });
    if (existsSync(CA_BUNDLE)) cpSync(CA_BUNDLE, join(context, 'ca-certificates.crt'));
    await docker(['build', '--network', 'host', '--quiet', '--tag', tag, context], 10 * MINUTE);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  log(`built base image ${tag} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return tag;
}
