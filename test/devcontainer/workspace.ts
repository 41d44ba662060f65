/**
 * What a dev container has before its start hook runs (a workspace folder and a mounted token), and a
 * stand-in agent to time the start script's supervision with.
 */
import { expect } from 'bun:test';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MINUTE, startScript, waitFor } from './harness.ts';
import { type ChrootRun, type ChrootUser, runHost } from './rootfs.ts';

/** The workspace folder the tests sync, as dev container tools lay it out. */
export const workspaceDir = '/workspaces/demo';

/**
 * Fills the workspace folder (owned by the remote user) with `files` and mounts the token as a secret
 * file, as a dev container has them before its start hook runs.
 */
export async function prepareWorkspace(
  run: ChrootRun,
  user: ChrootUser,
  token: string,
  files: Map<string, string>,
): Promise<string> {
  await rm(run.path(workspaceDir), { recursive: true, force: true });
  mkdirSync(run.path(workspaceDir), { recursive: true });
  for (const [name, content] of files) {
    mkdirSync(dirname(run.path(join(workspaceDir, name))), { recursive: true });
    writeFileSync(run.path(join(workspaceDir, name)), content);
  }
  await runHost(['chown', '-R', `${user.uid}:${user.gid}`, run.path('/workspaces')]);
  mkdirSync(run.path('/run/secrets'), { recursive: true });
  writeFileSync(run.path('/run/secrets/warmsync-token'), `${token}\n`, { mode: 0o400 });
  chownSync(run.path('/run/secrets/warmsync-token'), user.uid, user.gid);
  return workspaceDir;
}

/**
 * A stand-in for `warmsync` that records each start and exits after 0.3 s, so that the supervisor's
 * restarts can be timed. `prewarm --help` fails (`absent`) or succeeds with a restore that never ends
 * (`hang`) as `prewarm DIR --restore` would on an unreachable hub.
 */
const FAKE_AGENT = `#!/bin/sh
if [ "$1" = prewarm ]; then
  [ "$FAKE_PREWARM" = hang ] || exit 64
  if [ "$2" = --help ]; then echo '  --restore  restore node_modules'; exit 0; fi
  exec sleep 600
fi
printf '%s\\t%s\\t%s\\n' "$(date +%s.%N)" "\${WARMSYNC_TOKEN:-}" "$*" >>/tmp/fake-agent.calls
sleep 0.3
exit 3
`;

/** One start of the stand-in agent. */
export interface FakeAgentCall {
  /** Seconds since the epoch. */
  at: number;
  token: string;
  args: string;
}

/** How to run the stand-in agent. */
export interface FakeAgentOptions {
  prewarm: 'absent' | 'hang';
  /** WARMSYNC_PREWARM_TIMEOUT, in seconds. */
  timeoutSeconds?: number;
  /** Runs after the workspace is ready and before the start script. */
  before?: () => void;
  /** Lines appended to the feature's config, as install.sh writes them for other option values. */
  config?: string;
}

/**
 * Runs the start script in the workspace with `warmsync` replaced by the stand-in (through a copy of
 * the feature's config), checks that it returns at once, runs `during`, stops it, and returns the
 * recorded agent starts.
 */
export async function withFakeAgent(
  run: ChrootRun,
  user: ChrootUser,
  token: string,
  options: FakeAgentOptions,
  during: () => Promise<void>,
): Promise<FakeAgentCall[]> {
  writeFileSync(run.path('/usr/local/bin/fake-warmsync'), FAKE_AGENT, { mode: 0o755 });
  // The dependency restore only runs where npm is installed.
  writeFileSync(run.path('/usr/local/bin/npm'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const config = readFileSync(run.path('/etc/warmsync/feature.conf'), 'utf8');
  writeFileSync(
    run.path('/etc/warmsync/fake.conf'),
    `${config}WARMSYNC_BIN=/usr/local/bin/fake-warmsync\n${options.config ?? ''}`,
  );
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
    const start = await run.run([startScript, 'start'], { user, cwd: workspaceDir, env, timeoutMs: MINUTE });
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

/** The stand-in agent's starts recorded so far. */
export function fakeAgentCalls(run: ChrootRun): FakeAgentCall[] {
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

/** Waits until the stand-in agent has been started `count` times (timings stretch on a busy machine). */
export async function waitForFakeAgentCalls(run: ChrootRun, count: number): Promise<void> {
  await waitFor(`${count} agent starts`, MINUTE, async () =>
    fakeAgentCalls(run).length >= count ? true : undefined,
  );
}
