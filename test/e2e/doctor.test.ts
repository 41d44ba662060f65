/**
 * `warmsync doctor` through the real command line against real hubs (plain and TLS with a
 * private CA made by openssl), a real running agent, and a git work tree with ignore rules.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates, type TestCertificates } from '../helpers/certificates.ts';
import { cleanup, startHub, tempDir, waitUntil } from '../helpers/harness.ts';
import { freePort, startCli, stopAllCli } from '../helpers/processes.ts';

const TOKEN = 'doctor-test-admin-credential';
let certs: TestCertificates;

beforeAll(() => {
  certs = makeTestCertificates(mkdtempSync(join(tmpdir(), 'warmsync-certs-')));
});
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));
afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

/** No credential, CA or hub inherited from whoever runs the tests; bindings in a temp state home. */
const env = (extra: Record<string, string> = {}) => ({
  WARMSYNC_TOKEN: undefined,
  WARMSYNC_CA: undefined,
  WARMSYNC_SERVER: undefined,
  WARMSYNC_WORKSPACE: undefined,
  XDG_STATE_HOME: tempDir('warmsync-xdg-'),
  ...extra,
});

async function run(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  const child = startCli(args, { cwd: options.cwd, env: options.env ?? env() });
  const code = await child.process.exited;
  return { code, output: await child.finished() };
}

function project(): string {
  const dir = tempDir('warmsync-tree-');
  Bun.spawnSync(['git', 'init', '-q', dir]);
  writeFileSync(join(dir, '.gitignore'), 'dist/\n');
  writeFileSync(
    join(dir, 'warmsync.toml'),
    'workspace = "doc"\nignore = ["*.log"]\n\n[[paths]]\npath = "vendor/"\nmode = "replica"\n',
  );
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'src', 'a.ts'), 'export {};');
  writeFileSync(join(dir, 'dist', 'b.js'), '1');
  writeFileSync(join(dir, 'run.log'), 'noise');
  return dir;
}

describe('warmsync doctor', () => {
  it('passes every check on a healthy folder with a running agent', async () => {
    const hub = startHub({ token: TOKEN });
    const dir = project();
    const state = tempDir('warmsync-state-');
    const agentEnv = env();
    const agent = startCli(
      ['agent', dir, '--server', hub.url, '--token', TOKEN, '--state', state, '--no-prewarm'],
      {
        env: agentEnv,
      },
    );
    await waitUntil(() => agent.output().includes('watching'), 'the agent to watch', 30_000);
    const { code, output } = await run([
      'doctor',
      dir,
      '--server',
      hub.url,
      '--token',
      TOKEN,
      '--state',
      state,
    ]);
    expect({ code, output }).toMatchObject({ code: 0 });
    for (const line of [
      /ok +project file .*warmsync\.toml is valid/,
      /ok +folder .* can be read and written/,
      /ok +names +the file system keeps names exactly/,
      /ok +watch limit +\d+ folder\(s\)/,
      /ok +hub .* answered \/healthz 200/,
      /ok +clock +agrees with the hub/,
      /ok +credential +the credential can read workspace doc/,
      /ok +agent +agent [0-9a-f]+ is running/,
      /all checks passed/,
    ])
      expect(output).toMatch(line);
  }, 60_000);

  it('fails with what to do on a refused credential, and on a hub that is not there', async () => {
    const hub = startHub({ token: TOKEN });
    const dir = project();
    const refused = await run(['doctor', dir, '--server', hub.url, '--token', 'wrong']);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/FAIL +credential +the hub refused the credential \(401\)/);
    expect(refused.output).toContain('warmsync token create');
    const port = await freePort();
    const gone = await run(['doctor', dir, '--server', `http://127.0.0.1:${port}`]);
    expect(gone.code).toBe(1);
    expect(gone.output).toMatch(/FAIL +hub +cannot reach http:\/\/127\.0\.0\.1:\d+/);
  }, 60_000);

  it('names a bad project file by its line', async () => {
    const dir = project();
    writeFileSync(join(dir, 'warmsync.toml'), 'workspace = "doc"\nmode = "sideways"\n');
    const { code, output } = await run(['doctor', dir, '--server', 'http://127.0.0.1:9']);
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL +project file .*warmsync\.toml:2: mode:/);
  }, 30_000);

  it('checks a TLS hub certificate against the private CA, and fails without it', async () => {
    const hub = startHub({
      token: TOKEN,
      tls: { cert: readFileSync(certs.cert, 'utf8'), key: readFileSync(certs.key, 'utf8') },
    });
    const url = hub.url.replace(/^http:/, 'https:');
    const dir = project();
    const trusted = await run(['doctor', dir, '--server', url, '--token', TOKEN, '--ca', certs.ca]);
    // The test certificates live two days: verified, and close to their end.
    expect(trusted.output).toMatch(
      /warn +tls +the hub's certificate expires in [01] day\(s\), on \d{4}-\d\d-\d\d/,
    );
    expect(trusted.output).toMatch(/ok +credential/);
    const untrusted = await run(['doctor', dir, '--server', url, '--token', TOKEN]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.output).toMatch(/FAIL +tls/);
    expect(untrusted.output).toContain('--ca FILE');
  }, 60_000);
});

describe('warmsync doctor --why', () => {
  it('names the ignore rule, the mode, and why the agent has a path out of sync', async () => {
    const hub = startHub();
    const dir = project();
    const state = tempDir('warmsync-state-');
    const agentEnv = env();
    const agent = startCli(
      ['agent', dir, '--server', hub.url, '--state', state, '--no-prewarm', '--mode', 'receive-only'],
      { env: agentEnv },
    );
    await waitUntil(() => agent.output().includes('watching'), 'the agent to watch', 30_000);
    const why = async (path: string) =>
      (await run(['doctor', '--why', path, '--state', state], { cwd: dir })).output;
    expect(await why('dist/b.js')).toContain(
      'ignored: yes: it is inside dist/, which pattern "dist/" of the root',
    );
    expect(await why('run.log')).toContain(`ignored: yes: pattern "*.log" of warmsync.toml's ignore`);
    expect(await why('vendor/lib.js')).toContain('mode: replica (a [[paths]] rule of warmsync.toml)');
    expect(await why('vendor/lib.js')).toContain('on disk: not here');
    // Receive-only: the agent keeps the folder's own files local, and says so.
    await waitUntil(
      async () => (await why('src/a.ts')).includes('(kept-local)'),
      'the agent to list src/a.ts as kept local',
      30_000,
    );
    const text = await why('src/a.ts');
    expect(text).toContain('ignored: no: no ignore rule matches it');
    expect(text).toContain('mode: two-way');
  }, 90_000);
});
