/**
 * install.sh of the warmsync-agent feature, run as a dev container build runs it, in a clean Debian
 * entered with chroot (see harness.ts). Needs root; the first run bootstraps the root filesystem
 * (about a minute) and caches it under the OS temp dir.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { readFeature } from './feature-env.ts';
import { canChroot, FeatureHarness, MINUTE, remoteUserName } from './harness.ts';
import { runHost } from './rootfs.ts';

const harness = new FeatureHarness();
// Removing a run's tree of a few hundred MB takes seconds on a busy machine.
afterAll(() => harness.dispose(), 5 * MINUTE);

describe.skipIf(!canChroot)('install.sh in a clean Debian root filesystem', () => {
  test(
    'installs Bun and warmsync as root for a non-root remote user',
    async () => {
      const { run, installOutput } = await harness.installed();
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
    'persists the options for the start script, with no token in the image',
    async () => {
      const { run, port } = await harness.installed();
      const config = readFileSync(run.path('/etc/warmsync/feature.conf'), 'utf8');
      expect(config).toContain(`SERVER_URL='http://127.0.0.1:${port}'`);
      expect(config).toContain("PREWARM_ENABLED='true'");
      expect(config.toLowerCase()).not.toContain('token=');
      // Writable by any UID the remote user may get when the container is created, and sticky.
      for (const dir of ['/var/log/warmsync', '/var/lib/warmsync']) {
        expect((await runHost(['stat', '-c', '%a %u', run.path(dir)])).stdout.trim()).toBe('1777 0');
      }
    },
    15 * MINUTE,
  );

  test(
    'run again leaves a working installation',
    async () => {
      const { run, staged, port } = await harness.installed();
      const again = await harness.runInstall(run, staged, {
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
    'takes the version option as the URL of a package tarball',
    async () => {
      const { run, staged, tarball, port } = await harness.installed();
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
        const result = await harness.runInstall(run, staged, {
          serverUrl: `http://127.0.0.1:${port}`,
          version: url,
        });
        expect(result.stdout).toContain(`downloading warmsync from ${url}`);
        expect(result.exitCode).toBe(0);
        const missing = await harness.runInstall(run, staged, {
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
    'installs curl with apt-get when the base image lacks it',
    async () => {
      const { tarball, port } = await harness.installed();
      // A separate tree, so that removing curl cannot disturb the other tests.
      const run = await harness.freshRun();
      const removed = await run.run(['dpkg', '--purge', 'curl'], { timeoutMs: MINUTE });
      expect(removed.exitCode).toBe(0);
      const staged = harness.stageFeature(run, tarball);
      const result = await harness.runInstall(run, staged, {
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

  test.skipIf(process.arch !== 'x64')(
    'picks the baseline Bun build on a CPU without AVX2, with a remote user made later',
    async () => {
      const { tarball, port } = await harness.installed();
      const run = await harness.freshRun();
      const staged = harness.stageFeature(run, tarball);
      writeFileSync(
        run.path('/tmp/cpuinfo'),
        'processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx\n',
      );
      const result = await harness.runInstall(
        run,
        staged,
        { serverUrl: `http://127.0.0.1:${port}`, version: staged.tarball },
        { WARMSYNC_FEATURE_CPUINFO: '/tmp/cpuinfo', _REMOTE_USER: 'not-yet-created' },
      );
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('from @oven/bun-linux-x64-baseline');
      expect(result.stdout).toContain("remote user 'not-yet-created' does not exist yet");
      const help = await run.run(['warmsync', '--help'], { user: run.user(remoteUserName) });
      expect(help.exitCode).toBe(0);
    },
    15 * MINUTE,
  );

  test(
    'stops with a clear error when serverUrl is missing',
    async () => {
      const { run, staged } = await harness.installed();
      const result = await harness.runInstall(run, staged, {});
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain("the 'serverUrl' option is required");
    },
    15 * MINUTE,
  );

  test(
    'stops with a clear error on an unsupported base image',
    async () => {
      const { run, staged } = await harness.installed();
      const osRelease = run.path('/etc/os-release');
      const original = readFileSync(osRelease, 'utf8');
      // /etc/os-release is a link into /usr/lib; replace the link, not the file it points to.
      await rm(osRelease, { force: true });
      writeFileSync(osRelease, 'ID=fedora\nPRETTY_NAME="Fedora Linux 40"\n');
      try {
        const result = await harness.runInstall(run, staged, { serverUrl: 'http://127.0.0.1:7420' });
        expect(result.exitCode).not.toBe(0);
        expect(result.stderr).toContain("unsupported base image 'Fedora Linux 40'");
      } finally {
        writeFileSync(osRelease, original);
      }
    },
    15 * MINUTE,
  );
});
