/**
 * The warmsync-agent feature end to end: installed as a dev container build installs it, into a clean
 * Debian entered with chroot (see harness.ts), then started as a dev container starts it, by the
 * postStartCommand run as the non-root remote user in the workspace folder. chroot shares the network
 * namespace, so a `warmsync serve` on loopback outside is the server the agent inside talks to.
 *
 * Needs root, debootstrap (installed with apt-get when missing) and the Debian and npm registries. The
 * first run bootstraps the root filesystem (about a minute) and caches it under the OS temp dir.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  canChroot,
  cli,
  FeatureHarness,
  freePort,
  log,
  MINUTE,
  remoteUserName,
  startScript,
  waitFor,
} from './harness.ts';
import { prepareWorkspace, waitForFakeAgentCalls, withFakeAgent, workspaceDir } from './workspace.ts';

const harness = new FeatureHarness();
// Removing a run's tree of a few hundred MB takes seconds on a busy machine.
afterAll(() => harness.dispose(), 5 * MINUTE);

/** True when this checkout's CLI has the sub-command (the sync tests need `serve` and `agent`). */
function cliHas(command: string): boolean {
  return (
    spawnSync(process.execPath, [cli, command, '--help'], { stdio: 'ignore', timeout: 30_000 }).status === 0
  );
}
const hasSyncCommands = cliHas('serve') && cliHas('agent');

describe.skipIf(!canChroot)('the start script in a clean Debian root filesystem', () => {
  test(
    'returns at once and restarts a dying agent with growing backoff',
    async () => {
      const { run, port, token } = await harness.installed();
      const user = run.user(remoteUserName);
      // What a previous life of the container left: a pidfile naming a pid that is no supervisor now
      // (written by root, as if root had once started the agent), and a log past its size limit.
      const userState = run.path(`/var/lib/warmsync/${remoteUserName}`);
      const before = () => {
        mkdirSync(userState, { recursive: true });
        chownSync(userState, user.uid, user.gid);
        writeFileSync(join(userState, 'supervisor.pid'), '1\n');
        writeFileSync(run.path('/var/log/warmsync/agent.log'), 'x'.repeat(11 * 1024 * 1024));
        chownSync(run.path('/var/log/warmsync/agent.log'), user.uid, user.gid);
      };
      const calls = await withFakeAgent(run, user, token, { prewarm: 'absent', before }, () =>
        waitForFakeAgentCalls(run, 3),
      );
      expect(Bun.file(run.path('/var/log/warmsync/agent.log.1')).size).toBe(11 * 1024 * 1024);
      expect(calls.length).toBeGreaterThanOrEqual(3);
      const [first, second, third] = calls;
      expect(first?.args).toBe(
        `agent ${workspaceDir} --server http://127.0.0.1:${port} --workspace demo ` +
          `--state /var/lib/warmsync/${remoteUserName}/agent`,
      );
      // 0.3 s runs, then 1 s and 2 s pauses.
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(1.2);
      expect(third!.at - second!.at).toBeGreaterThanOrEqual(2.2);
      // The token comes from the mounted secret file, through the environment, never the command line.
      expect(calls.every((call) => call.token === token && !call.args.includes(token))).toBe(true);
      const log = readFileSync(run.path('/var/log/warmsync/agent.log'), 'utf8');
      expect(log).toContain(
        "no 'prewarm --restore' or 'prewarm --warm' command; skipping the dependency restore",
      );
      expect(log).toContain('agent exited with status 3');
    },
    15 * MINUTE,
  );

  test(
    'a dependency restore that hangs delays neither the start nor the agent beyond its time limit',
    async () => {
      const { run, token } = await harness.installed();
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

  const flagCases: [string, string, string][] = [
    ['prewarm off', "PREWARM_ENABLED='false'", ' --no-prewarm'],
    ['poll on', "POLL_ENABLED='true'", ' --poll'],
    ['both', "PREWARM_ENABLED='false'\nPOLL_ENABLED='true'", ' --no-prewarm --poll'],
    ['install scripts allowed', "ALLOW_SCRIPTS_ENABLED='true'", ' --allow-scripts'],
    ['a workspace name', "WORKSPACE_NAME='team-api'", ''],
  ];
  for (const [name, config, flags] of flagCases) {
    test(
      `passes the options to the agent: ${name}`,
      async () => {
        const { run, token } = await harness.installed();
        const user = run.user(remoteUserName);
        const calls = await withFakeAgent(
          run,
          user,
          token,
          { prewarm: 'absent', config: `${config}\n` },
          () => waitForFakeAgentCalls(run, 1),
        );
        const workspace = /WORKSPACE_NAME='(.*)'/.exec(config)?.[1] ?? 'demo';
        expect(calls[0]?.args).toEndWith(
          `--workspace ${workspace} --state /var/lib/warmsync/${remoteUserName}/agent${flags}`,
        );
      },
      15 * MINUTE,
    );
  }

  test(
    'runs as root too, as in an image without a non-root user',
    async () => {
      const { run, token } = await harness.installed();
      const root = run.user('root');
      const calls = await withFakeAgent(run, root, token, { prewarm: 'absent' }, () =>
        waitForFakeAgentCalls(run, 1),
      );
      expect(calls[0]?.args).toContain('--state /var/lib/warmsync/root/agent');
      expect(calls[0]?.token).toBe(token);
    },
    15 * MINUTE,
  );

  test(
    "falls back to the user's home when the image's folders are not writable",
    async () => {
      const { run, token } = await harness.installed();
      const user = run.user(remoteUserName);
      const folders = ['/var/log/warmsync', '/var/lib/warmsync'].map((dir) => run.path(dir));
      // As in an image whose folders were made read-only after the feature.
      const before = () => {
        rmSync(run.path(`/var/lib/warmsync/${remoteUserName}`), { recursive: true, force: true });
        rmSync(run.path('/var/log/warmsync/agent.log'), { force: true });
        for (const dir of folders) chmodSync(dir, 0o755);
      };
      try {
        const calls = await withFakeAgent(run, user, token, { prewarm: 'absent', before }, async () => {
          await waitForFakeAgentCalls(run, 1);
          const status = await run.run([startScript, 'status'], {
            user,
            env: { WARMSYNC_FEATURE_CONFIG: '/etc/warmsync/fake.conf' },
          });
          expect(status.stdout).toContain(`log: ${user.home}/.local/state/warmsync/agent.log`);
        });
        expect(calls[0]?.args).toContain(`--state ${user.home}/.local/state/warmsync/agent`);
      } finally {
        for (const dir of folders) chmodSync(dir, 0o1777);
      }
    },
    15 * MINUTE,
  );

  test.skipIf(!hasSyncCommands)(
    'with the server unreachable, the container start is not delayed and the agent keeps trying',
    async () => {
      const { run, token } = await harness.installed();
      const user = run.user(remoteUserName);
      await prepareWorkspace(run, user, token, new Map([['README.md', '# demo\n']]));
      await rm(run.path('/var/log/warmsync/agent.log'), { force: true });
      const env = { WARMSYNC_SERVER: `http://127.0.0.1:${freePort()}` };
      try {
        const launched = performance.now();
        const start = await run.run([startScript, 'start'], { user, cwd: workspaceDir, env });
        expect(start.exitCode).toBe(0);
        expect(performance.now() - launched).toBeLessThan(5_000);
        // The agent waits for its hub with backoff (the supervisor would restart it if it exited).
        const retried = () => {
          const log = readFileSync(run.path('/var/log/warmsync/agent.log'), 'utf8');
          return (log.match(/waiting for the hub/g) ?? []).length >= 2 ? log : undefined;
        };
        const log = await waitFor('the agent to try twice', MINUTE, async () => retried());
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
    'detaches an agent that syncs the workspace folder to the server',
    async () => {
      const { run, port, token } = await harness.installed();
      const user = run.user(remoteUserName);
      const serverUrl = `http://127.0.0.1:${port}`;

      // The server, outside the chroot on loopback.
      const dataDir = await harness.scratchDir('warmsync-server-');
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
      harness.defer(async () => {
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
      const mirrorDir = await harness.scratchDir('warmsync-mirror-');
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
      harness.defer(async () => {
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

      // And the other way: an edit made outside lands inside, owned by the remote user.
      writeFileSync(join(mirrorDir, 'from-outside.txt'), 'made on the other machine\n');
      const inside = run.path(join(workspace, 'from-outside.txt'));
      await waitFor('a file from outside to land inside', MINUTE, async () =>
        (await Bun.file(inside).text()) === 'made on the other machine\n' ? true : undefined,
      );
      expect(statSync(inside).uid).toBe(user.uid);

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
