/**
 * Installs the warmsync-agent feature the way a dev container build runs it, without a container
 * engine: as root, options in upper-cased environment variables, into a clean Debian (debootstrap
 * minbase) entered with chroot, with the `npm pack` of this checkout as the `version`.
 *
 * Each test file builds one `FeatureHarness` and disposes of it in `afterAll`; the bootstrapped root
 * filesystem underneath is cached between files and runs (see rootfs.ts).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseDebianMirror, hostReleaseCodename, readAptSources } from './debian-mirror.ts';
import { featureDir, optionEnvironment, readFeature } from './feature-env.ts';
import { ChrootRun, type CommandResult, cachedRootfs, runHost } from './rootfs.ts';

export const MINUTE = 60_000;
export const repoRoot = join(import.meta.dir, '../..');
/** The CLI of this checkout, for the server and agents that run outside the chroot. */
export const cli = join(repoRoot, 'src/cli/main.ts');
/** Where install.sh puts the start script inside the image. */
export const startScript = '/usr/local/share/warmsync/start-agent.sh';
/** The non-root user lifecycle commands run as, as with the devcontainers base images. */
export const remoteUserName = 'vscode';

/** True where the chroot tests can run: Linux, as root. */
export const canChroot = process.platform === 'linux' && process.getuid?.() === 0;

export function log(line: string): void {
  console.log(`[devcontainer] ${line}`);
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = server.port;
  server.stop(true);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}

/** Polls `probe` every 100 ms until it yields a value; a probe that throws counts as not yet. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await Bun.sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The registry this machine's npm uses, so that the feature installs through the same mirror. */
async function machineRegistry(): Promise<string> {
  const result = await runHost(['npm', 'config', 'get', 'registry']);
  return result.exitCode === 0 && result.stdout.trim() ? result.stdout.trim() : 'https://registry.npmjs.org/';
}

/** `npm pack` of this checkout: the tarball the `version` option installs. */
export async function packCheckout(destination: string): Promise<string> {
  const result = await runHost(['npm', 'pack', '--silent', '--pack-destination', destination], {
    cwd: repoRoot,
    timeoutMs: 2 * MINUTE,
  });
  const name = result.stdout.trim().split('\n').pop();
  if (result.exitCode !== 0 || !name) throw new Error(`npm pack failed:\n${result.stderr}`);
  return join(destination, name);
}

/** The feature folder and the packed checkout, as paths inside a chroot. */
export interface StagedFeature {
  dir: string;
  tarball: string;
}

/** Everything one install made, shared by the tests of a file. */
export interface Installed {
  run: ChrootRun;
  staged: StagedFeature;
  /** The packed checkout on this machine. */
  tarball: string;
  /** The port `serverUrl` names; nothing listens there until a test starts a server. */
  port: number;
  token: string;
  installOutput: string;
}

/** Builds chroots with the feature installed, and removes everything it made on `dispose`. */
export class FeatureHarness {
  private readonly cleanups: (() => Promise<void>)[] = [];
  private installedOnce: Promise<Installed> | undefined;

  /** Registers work for `dispose`, which runs it newest first (processes before their folders). */
  defer(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async dispose(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      await cleanup().catch((error) => console.error(error));
    }
  }

  /** A temporary folder on this machine, removed on `dispose`. */
  async scratchDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.defer(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A fresh chroot over the cached Debian, prepared like a base image plus the common-utils feature. */
  async freshRun(): Promise<ChrootRun> {
    const mirror = chooseDebianMirror(readAptSources(), hostReleaseCodename());
    if (!mirror) throw new Error('no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d');
    const lower = await cachedRootfs({ ...mirror, include: ['curl', 'ca-certificates'] }, undefined, log);
    const run = await ChrootRun.create(lower);
    this.defer(() => run.dispose());
    // The machine's name servers and trusted CAs (registries may sit behind a TLS-inspecting proxy
    // whose CA the machine trusts; a company base image carries its CA the same way).
    copyFileSync('/etc/resolv.conf', run.path('/etc/resolv.conf'));
    const caBundle = '/etc/ssl/certs/ca-certificates.crt';
    if (existsSync(caBundle)) copyFileSync(caBundle, run.path(caBundle));
    const useradd = await run.run(['useradd', '--create-home', '--shell', '/bin/bash', remoteUserName]);
    if (useradd.exitCode !== 0) throw new Error(`useradd failed: ${useradd.stderr}`);
    return run;
  }

  /** Copies the feature folder and a package tarball into the chroot, as a build copies the feature. */
  stageFeature(run: ChrootRun, tarball: string): StagedFeature {
    const dir = '/tmp/dev-container-features/warmsync-agent';
    mkdirSync(run.path(dir), { recursive: true });
    for (const name of readdirSync(featureDir))
      copyFileSync(join(featureDir, name), run.path(join(dir, name)));
    chmodSync(run.path(join(dir, 'install.sh')), 0o755);
    const inside = `/tmp/${tarball.split('/').pop()}`;
    copyFileSync(tarball, run.path(inside));
    return { dir, tarball: inside };
  }

  /** Runs install.sh as root with `options` resolved as the spec resolves them, plus `extraEnv`. */
  async runInstall(
    run: ChrootRun,
    staged: StagedFeature,
    options: Record<string, string | boolean>,
    extraEnv: Record<string, string> = {},
  ): Promise<CommandResult> {
    const env = {
      ...optionEnvironment(readFeature(), options),
      NPM_CONFIG_REGISTRY: await machineRegistry(),
      _REMOTE_USER: remoteUserName,
      _REMOTE_USER_HOME: `/home/${remoteUserName}`,
      _CONTAINER_USER: 'root',
      _CONTAINER_USER_HOME: '/root',
      ...extraEnv,
    };
    return run.run(['./install.sh'], { cwd: staged.dir, env, timeoutMs: 10 * MINUTE });
  }

  /** Bootstraps (or reuses) the root filesystem and installs the feature from this checkout, once. */
  installed(): Promise<Installed> {
    this.installedOnce ??= (async () => {
      const packDir = await this.scratchDir('warmsync-pack-');
      const [run, tarball] = await Promise.all([this.freshRun(), packCheckout(packDir)]);
      const staged = this.stageFeature(run, tarball);
      const port = freePort();
      const started = performance.now();
      const result = await this.runInstall(run, staged, {
        serverUrl: `http://127.0.0.1:${port}`,
        version: staged.tarball,
      });
      log(`install.sh took ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const installOutput = result.stdout + result.stderr;
      if (result.exitCode !== 0)
        throw new Error(`install.sh exited with ${result.exitCode}:\n${installOutput}`);
      return { run, staged, tarball, port, token: crypto.randomUUID(), installOutput };
    })();
    return this.installedOnce;
  }
}
