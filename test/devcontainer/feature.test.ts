/**
 * The warmsync-agent dev container feature, installed the way a dev container build runs it: as root,
 * options in upper-cased environment variables, into a clean Debian (debootstrap minbase) entered with
 * chroot. There is no container engine here; chroot shares the network namespace, so a `warmsync serve`
 * on loopback outside is the server the agent inside talks to.
 *
 * Needs root, debootstrap (installed with apt-get when missing) and shellcheck. The first run
 * bootstraps the root filesystem (about a minute) and caches it under the OS temp dir.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chooseDebianMirror, hostReleaseCodename, readAptSources } from './debian-mirror.ts';
import { featureDir, optionEnvironment, readFeature } from './feature-env.ts';
import { ChrootRun, type ChrootUser, cachedRootfs, runHost } from './rootfs.ts';

const repoRoot = join(import.meta.dir, '../..');
const featureRoot = join(repoRoot, 'devcontainer-feature');
const cli = join(repoRoot, 'src/cli/main.ts');
const startScript = '/usr/local/share/warmsync/start-agent.sh';
const remoteUserName = 'vscode';
const MINUTE = 60_000;

const isRoot = process.getuid?.() === 0 && process.platform === 'linux';
const mirror = chooseDebianMirror(readAptSources(), hostReleaseCodename());

/** True when this checkout's CLI has the sub-command (the sync test needs `serve` and `agent`). */
function cliHas(command: string): boolean {
  return (
    spawnSync(process.execPath, [cli, command, '--help'], { stdio: 'ignore', timeout: 30_000 }).status === 0
  );
}
const hasSyncCommands = cliHas('serve') && cliHas('agent');

function log(line: string): void {
  console.log(`[devcontainer] ${line}`);
}

/** The registry this machine's npm uses, so that the feature installs through the same mirror. */
async function machineRegistry(): Promise<string> {
  const result = await runHost(['npm', 'config', 'get', 'registry']);
  return result.exitCode === 0 && result.stdout.trim() ? result.stdout.trim() : 'https://registry.npmjs.org/';
}

/** `npm pack` of this checkout: the tarball the `version` option installs. */
async function packCheckout(destination: string): Promise<string> {
  const result = await runHost(['npm', 'pack', '--silent', '--pack-destination', destination], {
    cwd: repoRoot,
    timeoutMs: 120_000,
  });
  const name = result.stdout.trim().split('\n').pop();
  if (result.exitCode !== 0 || !name) throw new Error(`npm pack failed:\n${result.stderr}`);
  return join(destination, name);
}

/** A free TCP port on loopback. */
function freePort(): number {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = server.port;
  server.stop(true);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await Bun.sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Everything one install made, shared by the tests that look at it. */
interface Installed {
  run: ChrootRun;
  /** The feature folder and the packed checkout, as paths inside the chroot. */
  staged: { dir: string; tarball: string };
  /** The packed checkout on this machine. */
  tarball: string;
  port: number;
  token: string;
  installOutput: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  // Newest first: processes before the folders they use.
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error(error));
}, 5 * MINUTE); // removing a run's tree of a few hundred MB takes seconds on a busy machine

async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh chroot over the cached Debian, prepared like a base image plus the common-utils feature. */
async function freshRun(): Promise<ChrootRun> {
  if (!mirror) throw new Error('no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d');
  const lower = await cachedRootfs({ ...mirror, include: ['curl', 'ca-certificates'] }, undefined, log);
  const run = await ChrootRun.create(lower);
  cleanups.push(() => run.dispose());
  // The machine's name servers and trusted CAs (registries may sit behind a TLS-inspecting proxy whose
  // CA the machine trusts; a company base image carries its CA the same way).
  copyFileSync('/etc/resolv.conf', run.path('/etc/resolv.conf'));
  const caBundle = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(caBundle)) copyFileSync(caBundle, run.path(caBundle));
  const useradd = await run.run(['useradd', '--create-home', '--shell', '/bin/bash', remoteUserName]);
  if (useradd.exitCode !== 0) throw new Error(`useradd failed: ${useradd.stderr}`);
  return run;
}

/** Copies the feature folder and the packed checkout into the chroot, as a build copies the feature. */
async function stageFeature(run: ChrootRun, tarball: string): Promise<{ dir: string; tarball: string }> {
  const dir = '/tmp/dev-container-features/warmsync-agent';
  mkdirSync(run.path(dir), { recursive: true });
  for (const name of readdirSync(featureDir)) copyFileSync(join(featureDir, name), run.path(join(dir, name)));
  chmodSync(run.path(join(dir, 'install.sh')), 0o755);
  const inside = `/tmp/${tarball.split('/').pop()}`;
  copyFileSync(tarball, run.path(inside));
  return { dir, tarball: inside };
}

async function runInstall(run: ChrootRun, featurePath: string, options: Record<string, string | boolean>) {
  const env = {
    ...optionEnvironment(readFeature(), options),
    NPM_CONFIG_REGISTRY: await machineRegistry(),
    _REMOTE_USER: remoteUserName,
    _REMOTE_USER_HOME: `/home/${remoteUserName}`,
    _CONTAINER_USER: 'root',
    _CONTAINER_USER_HOME: '/root',
  };
  return run.run(['./install.sh'], { cwd: featurePath, env, timeoutMs: 10 * MINUTE });
}

let installedOnce: Promise<Installed> | undefined;
/** Bootstraps (or reuses) the root filesystem and installs the feature from this checkout, once. */
function installed(): Promise<Installed> {
  installedOnce ??= (async () => {
    const packDir = await scratchDir('warmsync-pack-');
    const [run, tarball] = await Promise.all([freshRun(), packCheckout(packDir)]);
    const staged = await stageFeature(run, tarball);
    const port = freePort();
    const started = performance.now();
    const result = await runInstall(run, staged.dir, {
      serverUrl: `http://127.0.0.1:${port}`,
      version: staged.tarball,
    });
    log(`install.sh took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const installOutput = result.stdout + result.stderr;
    if (result.exitCode !== 0)
      throw new Error(`install.sh exited with ${result.exitCode}:\n${installOutput}`);
    return { run, staged, tarball, port, token: crypto.randomUUID(), installOutput };
  })();
  return installedOnce;
}

/**
 * A stand-in for `warmsync` that records each start and exits after 0.3 s, so that the supervisor's
 * restarts can be timed. `prewarm --help` fails (`absent`) or succeeds with a restore that never ends
 * (`hang`).
 */
const FAKE_AGENT = `#!/bin/sh
if [ "$1" = prewarm ]; then
  [ "$FAKE_PREWARM" = hang ] || exit 64
  if [ "$2" = --help ]; then echo '  --warm  fetch the npm candidates'; exit 0; fi
  exec sleep 600
fi
printf '%s\\t%s\\t%s\\n' "$(date +%s.%N)" "\${WARMSYNC_TOKEN:-}" "$*" >>/tmp/fake-agent.calls
sleep 0.3
exit 3
`;

interface FakeAgentCall {
  at: number;
  token: string;
  args: string;
}

/**
 * Starts the start script in /workspaces/demo with `warmsync` replaced by FAKE_AGENT (through a copy of
 * the feature's config), runs `during`, stops it, and returns the recorded agent starts.
 */
async function withFakeAgent(
  run: ChrootRun,
  user: ChrootUser,
  token: string,
  options: { prewarm: 'absent' | 'hang'; timeoutSeconds?: number; before?: () => void },
  during: () => Promise<void>,
): Promise<FakeAgentCall[]> {
  writeFileSync(run.path('/usr/local/bin/fake-warmsync'), FAKE_AGENT, { mode: 0o755 });
  // The dependency restore only runs where npm is installed.
  writeFileSync(run.path('/usr/local/bin/npm'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const config = readFileSync(run.path('/etc/warmsync/feature.conf'), 'utf8');
  writeFileSync(run.path('/etc/warmsync/fake.conf'), `${config}WARMSYNC_BIN=/usr/local/bin/fake-warmsync\n`);
  await rm(run.path('/tmp/fake-agent.calls'), { force: true });
  await rm(run.path('/var/log/warmsync/agent.log'), { force: true });
  await prepareWorkspace(run, user, token, new Map([['package.json', '{}\n']]));
  options.before?.();

  const env = {
    WARMSYNC_FEATURE_CONFIG: '/etc/warmsync/fake.conf',
    WARMSYNC_PREWARM_TIMEOUT: String(options.timeoutSeconds ?? 300),
    FAKE_PREWARM: options.prewarm,
  };
  try {
    const launched = performance.now();
    const start = await run.run([startScript, 'start'], {
      user,
      cwd: '/workspaces/demo',
      env,
      timeoutMs: MINUTE,
    });
    const startMs = performance.now() - launched;
    expect(start.stderr).toBe('');
    expect(start.exitCode).toBe(0);
    expect(startMs).toBeLessThan(5_000);
    await during();
  } finally {
    const stop = await run.run([startScript, 'stop'], { user, env });
    expect(stop.stdout).toContain('stopped');
    await waitFor('the supervisor to stop', 30_000, async () =>
      run.processes().length === 0 ? true : undefined,
    );
  }
  return fakeAgentCalls(run);
}

/** The agent starts FAKE_AGENT recorded so far. */
function fakeAgentCalls(run: ChrootRun): FakeAgentCall[] {
  const file = run.path('/tmp/fake-agent.calls');
  const recorded = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return recorded
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [at = '0', callToken = '', args = ''] = line.split('\t');
      return { at: Number(at), token: callToken, args };
    });
}

/** Waits until FAKE_AGENT has been started `count` times (timings stretch on a busy machine). */
async function waitForFakeAgentCalls(run: ChrootRun, count: number): Promise<void> {
  await waitFor(`${count} agent starts`, MINUTE, async () =>
    fakeAgentCalls(run).length >= count ? true : undefined,
  );
}

/**
 * Fills /workspaces/demo (owned by the remote user) with `files` and mounts the token as a secret file,
 * as a dev container has them before its start hook runs.
 */
async function prepareWorkspace(
  run: ChrootRun,
  user: ChrootUser,
  token: string,
  files: Map<string, string>,
): Promise<string> {
  const workspace = '/workspaces/demo';
  await rm(run.path(workspace), { recursive: true, force: true });
  mkdirSync(run.path(workspace), { recursive: true });
  for (const [name, content] of files) {
    mkdirSync(dirname(run.path(join(workspace, name))), { recursive: true });
    writeFileSync(run.path(join(workspace, name)), content);
  }
  await runHost(['chown', '-R', `${user.uid}:${user.gid}`, run.path('/workspaces')]);
  mkdirSync(run.path('/run/secrets'), { recursive: true });
  writeFileSync(run.path('/run/secrets/warmsync-token'), `${token}\n`, { mode: 0o400 });
  chownSync(run.path('/run/secrets/warmsync-token'), user.uid, user.gid);
  return workspace;
}

function shellScripts(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.sh'))
    .map((name) => join(dir, name))
    .sort();
}

describe('devcontainer feature metadata', () => {
  test('declares the options, the log path and the postStartCommand', () => {
    const feature = readFeature();
    expect(feature.id).toBe('warmsync-agent');
    expect(Object.keys(feature.options).sort()).toEqual(
      [
        'bunVersion',
        'folder',
        'poll',
        'prewarm',
        'registry',
        'serverUrl',
        'tokenFile',
        'version',
        'workspace',
      ].sort(),
    );
    expect(feature.options.prewarm?.type).toBe('boolean');
    expect(feature.containerEnv.WARMSYNC_LOG).toBe('/var/log/warmsync/agent.log');
    expect(feature.postStartCommand).toBe(`${startScript} start`);
  });

  test('no option carries a token', () => {
    expect(Object.keys(readFeature().options).filter((name) => /token$/i.test(name))).toEqual([]);
  });

  test('every scenario names only options the feature declares', () => {
    const scenarios = JSON.parse(
      readFileSync(join(featureRoot, 'test/warmsync-agent/scenarios.json'), 'utf8'),
    );
    const options = Object.keys(readFeature().options);
    for (const scenario of Object.values(scenarios) as {
      features: Record<string, Record<string, unknown>>;
    }[]) {
      for (const name of Object.keys(scenario.features['warmsync-agent'] ?? {}))
        expect(options).toContain(name);
    }
  });
});

describe('devcontainer feature shell scripts', () => {
  test('pass shellcheck', async () => {
    const scripts = shellScripts(featureRoot);
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    const result = await runHost(['shellcheck', '--external-sources', ...scripts]);
    if (result.exitCode !== 0) console.error(result.stdout + result.stderr);
    expect(result.exitCode).toBe(0);
  });
});

describe.skipIf(!isRoot)('devcontainer feature in a clean Debian root filesystem', () => {
  test(
    'install.sh installs Bun and warmsync as root for a non-root remote user',
    async () => {
      const { run, installOutput } = await installed();
      expect(installOutput).toContain('installed warmsync');
      const user = run.user(remoteUserName);
      const help = await run.run(['warmsync', '--help'], { user });
      expect(help.stderr).toBe('');
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toContain('Usage: warmsync');
      const version = await run.run(['bun', '--version'], { user });
      expect(version.stdout.trim()).toBe(String(readFeature().options.bunVersion?.default));
    },
    15 * MINUTE,
  );

  test(
    'install.sh persists the options for the start script, with no token in the image',
    async () => {
      const { run, port } = await installed();
      const config = readFileSync(run.path('/etc/warmsync/feature.conf'), 'utf8');
      expect(config).toContain(`SERVER_URL='http://127.0.0.1:${port}'`);
      expect(config).toContain("PREWARM_ENABLED='true'");
      expect(config.toLowerCase()).not.toContain('token=');
      const user = run.user(remoteUserName);
      for (const dir of ['/var/log/warmsync', '/var/lib/warmsync']) {
        const owner = (await runHost(['stat', '-c', '%u', run.path(dir)])).stdout.trim();
        expect(Number(owner)).toBe(user.uid);
      }
    },
    15 * MINUTE,
  );

  test(
    'install.sh run again leaves a working installation',
    async () => {
      const { run, staged, port } = await installed();
      const again = await runInstall(run, staged.dir, {
        serverUrl: `http://127.0.0.1:${port}`,
        version: staged.tarball,
      });
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toContain('Bun 1.4.5 already installed');
      const help = await run.run(['warmsync', '--help'], { user: run.user(remoteUserName) });
      expect(help.exitCode).toBe(0);
    },
    15 * MINUTE,
  );

  test(
    'install.sh takes the version option as the URL of a package tarball',
    async () => {
      const { run, staged, tarball, port } = await installed();
      const files = Bun.serve({
        hostname: '127.0.0.1',
        port: 0,
        fetch: (request) =>
          new URL(request.url).pathname === '/warmsync.tgz'
            ? new Response(Bun.file(tarball))
            : new Response('not found', { status: 404 }),
      });
      try {
        const url = `http://127.0.0.1:${files.port}/warmsync.tgz`;
        const result = await runInstall(run, staged.dir, {
          serverUrl: `http://127.0.0.1:${port}`,
          version: url,
        });
        expect(result.stdout).toContain(`downloading warmsync from ${url}`);
        expect(result.exitCode).toBe(0);
        const missing = await runInstall(run, staged.dir, {
          serverUrl: `http://127.0.0.1:${port}`,
          version: `http://127.0.0.1:${files.port}/missing.tgz`,
        });
        expect(missing.exitCode).not.toBe(0);
        expect(missing.stderr).toContain('could not download');
      } finally {
        files.stop(true);
      }
      expect((await run.run(['warmsync', '--help'], { user: run.user(remoteUserName) })).exitCode).toBe(0);
    },
    15 * MINUTE,
  );

  test(
    'install.sh installs curl with apt-get when the base image lacks it',
    async () => {
      const { tarball, port } = await installed();
      // A separate tree, so that removing curl cannot disturb the other tests.
      const run = await freshRun();
      const removed = await run.run(['dpkg', '--purge', 'curl'], { timeoutMs: MINUTE });
      expect(removed.exitCode).toBe(0);
      const staged = await stageFeature(run, tarball);
      const result = await runInstall(run, staged.dir, {
        serverUrl: `http://127.0.0.1:${port}`,
        version: staged.tarball,
      });
      expect(result.stdout).toContain('installing prerequisites (curl');
      expect(result.exitCode).toBe(0);
      expect(existsSync(run.path('/usr/bin/curl'))).toBe(true);
      expect(readdirSync(run.path('/var/lib/apt/lists')).filter((name) => name.endsWith('Packages'))).toEqual(
        [],
      );
    },
    15 * MINUTE,
  );

  test(
    'install.sh stops with a clear error when serverUrl is missing',
    async () => {
      const { run, staged } = await installed();
      const result = await runInstall(run, staged.dir, {});
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain("the 'serverUrl' option is required");
    },
    15 * MINUTE,
  );

  test(
    'install.sh stops with a clear error on an unsupported base image',
    async () => {
      const { run, staged } = await installed();
      const osRelease = run.path('/etc/os-release');
      const original = readFileSync(osRelease, 'utf8');
      // /etc/os-release is a link into /usr/lib; replace the link, not the file it points to.
      await rm(osRelease, { force: true });
      writeFileSync(osRelease, 'ID=fedora\nPRETTY_NAME="Fedora Linux 40"\n');
      try {
        const result = await runInstall(run, staged.dir, { serverUrl: 'http://127.0.0.1:7420' });
        expect(result.exitCode).not.toBe(0);
        expect(result.stderr).toContain("unsupported base image 'Fedora Linux 40'");
      } finally {
        writeFileSync(osRelease, original);
      }
    },
    15 * MINUTE,
  );

  test(
    'the start script returns at once and restarts a dying agent with growing backoff',
    async () => {
      const { run, token } = await installed();
      const user = run.user(remoteUserName);
      // What a previous life of the container left: a pidfile naming a pid that is no supervisor now,
      // and a log past its size limit.
      const before = () => {
        writeFileSync(run.path('/var/lib/warmsync/supervisor.pid'), '1\n');
        writeFileSync(run.path('/var/log/warmsync/agent.log'), 'x'.repeat(11 * 1024 * 1024));
      };
      const calls = await withFakeAgent(run, user, token, { prewarm: 'absent', before }, () =>
        waitForFakeAgentCalls(run, 3),
      );
      expect(Bun.file(run.path('/var/log/warmsync/agent.log.1')).size).toBe(11 * 1024 * 1024);
      expect(calls.length).toBeGreaterThanOrEqual(3);
      const [first, second, third] = calls;
      expect(first?.args).toBe(
        `agent /workspaces/demo --server http://127.0.0.1:${(await installed()).port} --workspace demo ` +
          '--state /var/lib/warmsync/agent',
      );
      // 0.3 s runs, then 1 s and 2 s pauses.
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(1.2);
      expect(third!.at - second!.at).toBeGreaterThanOrEqual(2.2);
      // The token comes from the mounted secret file, through the environment, never the command line.
      expect(calls.every((call) => call.token === token && !call.args.includes(token))).toBe(true);
      const log = readFileSync(run.path('/var/log/warmsync/agent.log'), 'utf8');
      expect(log).toContain("no 'prewarm --warm' command; skipping the dependency restore");
      expect(log).toContain('agent exited with status 3');
    },
    15 * MINUTE,
  );

  test(
    'a dependency restore that hangs delays neither the start nor the agent beyond its time limit',
    async () => {
      const { run, token } = await installed();
      const user = run.user(remoteUserName);
      const calls = await withFakeAgent(run, user, token, { prewarm: 'hang', timeoutSeconds: 1 }, () =>
        waitForFakeAgentCalls(run, 1),
      );
      expect(calls.length).toBeGreaterThanOrEqual(1);
      const log = readFileSync(run.path('/var/log/warmsync/agent.log'), 'utf8');
      expect(log).toContain('dependency restore failed or timed out');
    },
    15 * MINUTE,
  );

  test.skipIf(!hasSyncCommands)(
    'with the server unreachable, the container start is not delayed and the agent is retried',
    async () => {
      const { run, token } = await installed();
      const user = run.user(remoteUserName);
      await prepareWorkspace(run, user, token, new Map([['README.md', '# demo\n']]));
      await rm(run.path('/var/log/warmsync/agent.log'), { force: true });
      const env = { WARMSYNC_SERVER: `http://127.0.0.1:${freePort()}` };
      try {
        const launched = performance.now();
        const start = await run.run([startScript, 'start'], { user, cwd: '/workspaces/demo', env });
        expect(start.exitCode).toBe(0);
        expect(performance.now() - launched).toBeLessThan(5_000);
        const retried = () => {
          const log = readFileSync(run.path('/var/log/warmsync/agent.log'), 'utf8');
          return (log.match(/agent exited with status [1-9]/g) ?? []).length >= 2 ? log : undefined;
        };
        const log = await waitFor('the agent to fail twice', MINUTE, async () => retried());
        expect(log).toContain(`--server ${env.WARMSYNC_SERVER}`);
        expect(log).toMatch(/cannot reach|ECONNREFUSED/);
        expect((await run.run([startScript, 'status'], { user })).stdout).toContain('running');
      } finally {
        await run.run([startScript, 'stop'], { user });
        await waitFor('the supervisor to stop', 30_000, async () =>
          run.processes().length === 0 ? true : undefined,
        );
      }
    },
    15 * MINUTE,
  );

  test.skipIf(!hasSyncCommands)(
    'the start script detaches an agent that syncs the workspace folder to the server',
    async () => {
      const { run, port, token } = await installed();
      const user = run.user(remoteUserName);
      const serverUrl = `http://127.0.0.1:${port}`;

      // The server, outside the chroot on loopback.
      const dataDir = await scratchDir('warmsync-server-');
      const server = Bun.spawn(
        [
          process.execPath,
          cli,
          'serve',
          '--data',
          dataDir,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--token',
          token,
        ],
        { stdout: Bun.file(join(dataDir, 'server.log')), stderr: 'inherit' },
      );
      cleanups.push(async () => {
        server.kill();
        await server.exited;
      });
      await waitFor('the server to be healthy', MINUTE, async () =>
        (await fetch(`${serverUrl}/healthz`)).status === 200 ? true : undefined,
      );

      // The workspace inside, as a dev container has it before the start hook runs.
      const files = new Map<string, string>();
      for (let index = 0; index < 20; index++) {
        files.set(`src/module-${index}.ts`, `export const value${index} = ${index};\n`);
      }
      files.set('README.md', '# demo\n');
      const workspace = await prepareWorkspace(run, user, token, files);

      // Another machine's agent, outside, on the same workspace name.
      const mirrorDir = await scratchDir('warmsync-mirror-');
      const outside = Bun.spawn(
        [
          process.execPath,
          cli,
          'agent',
          mirrorDir,
          '--server',
          serverUrl,
          '--workspace',
          'demo',
          '--token',
          token,
        ],
        { stdout: Bun.file(join(dataDir, 'outside-agent.log')), stderr: 'inherit' },
      );
      cleanups.push(async () => {
        outside.kill();
        await outside.exited;
      });

      const launched = performance.now();
      const start = await run.run([startScript, 'start'], {
        user,
        cwd: workspace,
        env: { WARMSYNC_LOG: '/var/log/warmsync/agent.log' },
        timeoutMs: MINUTE,
      });
      const startSeconds = (performance.now() - launched) / 1000;
      expect(start.exitCode).toBe(0);
      expect(start.stdout).toContain(`started for ${workspace}`);
      expect(startSeconds).toBeLessThan(10);

      const allArrived = async () => {
        for (const [name, content] of files) {
          const file = Bun.file(join(mirrorDir, name));
          if (!(await file.exists()) || (await file.text()) !== content) return undefined;
        }
        return true;
      };
      await waitFor('the workspace to reach the other agent', 2 * MINUTE, allArrived).catch((error) => {
        console.error(readFileSync(run.path('/var/log/warmsync/agent.log'), 'utf8'));
        throw error;
      });
      const firstSyncMs = performance.now() - launched;
      log(`start script returned in ${(startSeconds * 1000).toFixed(0)} ms`);
      log(`start-script launch to first full sync: ${firstSyncMs.toFixed(0)} ms (${files.size} files)`);

      // A file made after the first sync follows too.
      writeFileSync(run.path(join(workspace, 'later.txt')), 'made after start\n');
      await waitFor('a new file to reach the other agent', MINUTE, async () =>
        (await Bun.file(join(mirrorDir, 'later.txt')).text()) === 'made after start\n' ? true : undefined,
      );

      // Starting again (the hook runs on every container start) keeps the one supervisor.
      const again = await run.run([startScript, 'start'], { user, cwd: workspace });
      expect(again.stdout).toContain('already running');

      const stop = await run.run([startScript, 'stop'], { user });
      expect(stop.exitCode).toBe(0);
      await waitFor('the agent to stop', 30_000, async () =>
        run.processes().length === 0 ? true : undefined,
      );
    },
    15 * MINUTE,
  );
});
