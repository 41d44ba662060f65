/**
 * The feature in a real container, through the real devcontainer CLI: `devcontainer up` builds the
 * feature from its folder into a Debian base image (see docker.ts), starts the container on the
 * host's network with the workspace on a Docker volume (the setup the README recommends), and the
 * feature's postStartCommand starts the agent as the non-root remote user. A `warmsync serve` and a
 * second agent run outside on loopback; the test checks that both directions sync and prints the time
 * from `devcontainer up` to the first full sync.
 *
 * Needs root (the base image is bootstrapped with debootstrap) and Docker, which it installs and
 * starts when it may; it is skipped, saying why, only when it cannot.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { copyFeature, runDevcontainer } from './devcontainer-cli.ts';
import { cachedBaseImage, docker, ensureDocker } from './docker.ts';
import {
  canChroot,
  cli,
  FeatureHarness,
  freePort,
  log,
  MINUTE,
  packCheckout,
  remoteUserName,
  startScript,
  waitFor,
} from './harness.ts';

const engine = canChroot
  ? await ensureDocker(log)
  : ({ ok: false, reason: 'not root on Linux: the base image is bootstrapped with debootstrap' } as const);
if (!engine.ok) log(`skipping the devcontainer CLI test: ${engine.reason}`);

const harness = new FeatureHarness();
afterAll(async () => {
  await harness.dispose();
  if (engine.ok) await engine.stop();
}, 5 * MINUTE);

/**
 * A fixed folder, so that the CLI names its image the same way every run and Docker's layer cache
 * serves an unchanged feature build; a container left by an interrupted run is removed first.
 */
const workspaceFolder = join(tmpdir(), 'warmsync-devcontainer-cli', 'demo');
const containerWorkspace = '/workspaces/demo';
const volume = 'warmsync-devcontainer-cli-demo';

async function removeLeftovers(): Promise<void> {
  const label = `devcontainer.local_folder=${workspaceFolder}`;
  const ids = (await docker(['ps', '--all', '--quiet', '--filter', `label=${label}`])).split('\n');
  for (const id of ids.filter(Boolean)) await docker(['rm', '--force', id]);
  await docker(['volume', 'rm', '--force', volume]);
}

/** Runs `command` in the container as the remote user, through the CLI's own `exec`. */
async function execInside(command: string): Promise<string> {
  const result = await runDevcontainer(['exec', '--workspace-folder', workspaceFolder, 'sh', '-c', command], {
    timeoutMs: MINUTE,
  });
  if (result.exitCode !== 0)
    throw new Error(`devcontainer exec failed (${result.exitCode}):\n${result.stderr}`);
  return result.stdout;
}

/** Starts `warmsync ARGS` outside the container, logging to `logFile`, stopped on dispose. */
function startOutside(args: string[], logFile: string): void {
  const child = Bun.spawn([process.execPath, cli, ...args], { stdout: Bun.file(logFile), stderr: 'inherit' });
  harness.defer(async () => {
    child.kill();
    await child.exited;
  });
}

describe.skipIf(!engine.ok)('the feature through the devcontainer CLI', () => {
  test(
    '`devcontainer up` starts an agent that syncs the volume workspace with the hub both ways',
    async () => {
      const testStarted = performance.now();
      const [image, tarball] = await Promise.all([
        cachedBaseImage(log),
        harness.scratchDir('warmsync-pack-').then(packCheckout),
      ]);
      await removeLeftovers();
      harness.defer(removeLeftovers);

      // The hub and another machine's agent, outside on loopback; that agent's folder already holds
      // the project, which it pushes while the container builds.
      const port = freePort();
      const token = crypto.randomUUID();
      const serverUrl = `http://127.0.0.1:${port}`;
      const dataDir = await harness.scratchDir('warmsync-server-');
      startOutside(
        ['serve', '--data', dataDir, '--host', '127.0.0.1', '--port', String(port), '--token', token],
        join(dataDir, 'server.log'),
      );
      await waitFor('the server to be healthy', MINUTE, async () =>
        (await fetch(`${serverUrl}/healthz`)).status === 200 ? true : undefined,
      );
      const files = new Map<string, string>([['README.md', '# demo\n']]);
      for (let index = 0; index < 20; index++) {
        files.set(`src/module-${index}.ts`, `export const value${index} = ${index};\n`);
      }
      const hostDir = await harness.scratchDir('warmsync-host-');
      for (const [name, content] of files) {
        mkdirSync(dirname(join(hostDir, name)), { recursive: true });
        writeFileSync(join(hostDir, name), content);
      }
      const agentArgs = ['agent', hostDir, '--server', serverUrl, '--workspace', 'demo', '--token', token];
      startOutside(agentArgs, join(dataDir, 'host-agent.log'));

      // The project's dev container configuration: the feature from its folder, the host's network,
      // the workspace on a volume, the token from the caller's environment.
      rmSync(workspaceFolder, { recursive: true, force: true });
      const configDir = join(workspaceFolder, '.devcontainer');
      mkdirSync(configDir, { recursive: true });
      const version = copyFeature(join(configDir, 'warmsync'), tarball);
      const config = {
        image,
        features: { './warmsync': { serverUrl, workspace: 'demo', version } },
        runArgs: ['--network=host'],
        remoteUser: remoteUserName,
        workspaceMount: `source=${volume},target=${containerWorkspace},type=volume`,
        workspaceFolder: containerWorkspace,
        postCreateCommand: `sudo chown ${remoteUserName}:${remoteUserName} ${containerWorkspace}`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the CLI substitutes this variable.
        remoteEnv: { WARMSYNC_TOKEN: '${localEnv:WARMSYNC_TEST_TOKEN}' },
      };
      writeFileSync(join(configDir, 'devcontainer.json'), `${JSON.stringify(config, null, 2)}\n`);

      const cliLog = join(dataDir, 'devcontainer-up.log');
      const launched = performance.now();
      const up = await runDevcontainer(['up', '--workspace-folder', workspaceFolder], {
        env: { WARMSYNC_TEST_TOKEN: token },
        onOutput: (text) => appendFileSync(cliLog, text),
      });
      const upSeconds = (performance.now() - launched) / 1000;
      if (up.exitCode !== 0) console.error(readFileSync(cliLog, 'utf8').slice(-6000));
      expect(up.exitCode).toBe(0);
      const outcome = JSON.parse(up.stdout.trim().split('\n').pop() ?? '{}') as {
        outcome?: string;
        containerId?: string;
      };
      expect(outcome.outcome).toBe('success');
      const containerId = outcome.containerId ?? '';

      // The first full sync: every file of the hub in the container's workspace. Polled with
      // `docker exec`, which costs a tenth of the CLI's own `exec`.
      const expected = [...files.values()].join('');
      const names = [...files.keys()].join(' ');
      await waitFor('the project to reach the container', 2 * MINUTE, async () => {
        const result = await docker(
          ['exec', containerId, 'sh', '-c', `cd ${containerWorkspace} && cat ${names}`],
          30_000,
        );
        return `${result}\n` === expected ? true : undefined;
      }).catch(async (error) => {
        console.error(await execInside('cat "$WARMSYNC_LOG"').catch(String));
        throw error;
      });
      const firstSyncSeconds = (performance.now() - launched) / 1000;
      log(
        `devcontainer up returned after ${upSeconds.toFixed(1)} s (image build and container start included)`,
      );
      log(`devcontainer up to first full sync: ${firstSyncSeconds.toFixed(1)} s (${files.size} files)`);

      // The agent was started by the feature's postStartCommand, as the remote user.
      expect(await execInside(`${startScript} status`)).toContain('running');
      const owners = await execInside(
        `stat -c %U /var/lib/warmsync/${remoteUserName}/supervisor.pid ${containerWorkspace}/README.md`,
      );
      expect(owners.trim().split('\n')).toEqual([remoteUserName, remoteUserName]);

      // A file written outside reaches the container...
      writeFileSync(join(hostDir, 'from-outside.txt'), 'made on the host\n');
      await waitFor('a file from the host to land inside', MINUTE, async () =>
        (await docker(['exec', containerId, 'cat', `${containerWorkspace}/from-outside.txt`], 30_000)) ===
        'made on the host'
          ? true
          : undefined,
      );
      // ...and one written inside reaches the hub, hence the host's agent.
      await execInside(`printf 'made in the container\\n' > ${containerWorkspace}/from-inside.txt`);
      await waitFor('a file from the container to reach the host', MINUTE, async () =>
        (await Bun.file(join(hostDir, 'from-inside.txt')).text()) === 'made in the container\n'
          ? true
          : undefined,
      );
      log(`test took ${((performance.now() - testStarted) / 1000).toFixed(1)} s`);
    },
    20 * MINUTE,
  );
});
