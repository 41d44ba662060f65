/**
 * TLS end to end, with real processes and certificates made by openssl: a hub serving HTTPS and
 * WSS (`serve --tls-cert --tls-key`), agents and `warmsync status` that verify it against a
 * private CA (`--ca`, WARMSYNC_CA), refusals that name the certificate problem, and the flag
 * mistakes that stop `serve` in one line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubTls } from '../../src/agent/hub-tls.ts';
import { readCa } from '../../src/cli/tls-files.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/certificates.ts';
import { cleanup, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';
import { type CliProcess, freePort, startCli, stopAllCli, waitHealthy } from '../helpers/processes.ts';
import { startPostgres, startRedis, stopAllServices } from '../helpers/services.ts';

const TOKEN = 'tls-test-admin-credential';
let certs: TestCertificates;

beforeAll(() => {
  certs = makeTestCertificates(mkdtempSync(join(tmpdir(), 'warmsync-certs-')));
});
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));
afterEach(async () => {
  await stopAllCli();
  await stopAllServices();
  await cleanup();
});

/** The environment of every child: no credential or CA inherited from the one running the tests. */
function childEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  for (const name of ['WARMSYNC_TOKEN', 'WARMSYNC_CA', 'WARMSYNC_SERVER', 'WARMSYNC_WORKSPACE'])
    if (!(name in extra)) delete env[name];
  return env;
}

/** `warmsync ARGS` run to its end: exit code and everything it printed. */
async function runCli(args: string[], env: Record<string, string> = {}) {
  const child = startCli(args, { env: childEnv(env) });
  const code = await child.process.exited;
  // Let the output pumps drain what the process wrote just before it exited.
  await new Promise((r) => setTimeout(r, 50));
  return { code, output: child.output() };
}

/** A hub with TLS on a free loopback port, healthy over HTTPS when this resolves. */
async function startTlsHub(
  options: { cert?: string; key?: string; extra?: string[] } = {},
): Promise<{ url: string; hub: CliProcess }> {
  const port = await freePort();
  const hub = startCli(
    [
      'serve',
      '--data',
      join(tempDir('warmsync-hubdata-'), 'data'),
      '--port',
      String(port),
      '--token',
      TOKEN,
      '--tls-cert',
      options.cert ?? certs.cert,
      '--tls-key',
      options.key ?? certs.key,
      ...(options.extra ?? []),
    ],
    { env: childEnv() },
  );
  const url = `https://127.0.0.1:${port}`;
  await waitUntil(() => hub.output().includes('listening on'), 'the hub to listen', 30_000);
  // A certificate for another name cannot pass this check; the start-up line is enough there.
  if (!options.cert) await waitHealthy(url, 30_000, hubTls(readCa(certs.ca, '--ca')));
  return { url, hub };
}

/** A continuous agent process on a new folder (or `dir`), trusting the test CA unless told otherwise. */
function startTlsAgent(
  url: string,
  options: { dir?: string; ca?: 'flag' | 'env' | 'none'; server?: string } = {},
): { dir: string; agent: CliProcess } {
  const dir = options.dir ?? tempDir('warmsync-tree-');
  const ca = options.ca ?? 'flag';
  const args = [
    'agent',
    dir,
    '--server',
    options.server ?? url,
    '--workspace',
    'tls',
    '--token',
    TOKEN,
    '--state',
    tempDir('warmsync-state-'),
    '--no-prewarm',
    '--no-fsync',
    ...(ca === 'flag' ? ['--ca', certs.ca] : []),
  ];
  const agent = startCli(args, { env: childEnv(ca === 'env' ? { WARMSYNC_CA: certs.ca } : {}) });
  return { dir, agent };
}

const liveOpen = (agent: CliProcess) => agent.output().includes('live connection open');

describe('a hub serving HTTPS and WSS', () => {
  it('says https:// and its certificate in the start-up line', async () => {
    const { url, hub } = await startTlsHub();
    expect(hub.output()).toContain(`listening on ${url}`);
    expect(hub.output()).toMatch(/TLS certificate for 127\.0\.0\.1, localhost, valid until/);
  });

  it('converges two agents with --ca and WARMSYNC_CA both ways, live over wss://', async () => {
    const { url } = await startTlsHub();
    const a = startTlsAgent(url, { ca: 'flag' });
    writeFileSync(join(a.dir, 'from-a.txt'), 'written on A before it started\n');
    const bDir = tempDir('warmsync-tree-');
    writeFileSync(join(bDir, 'from-b.txt'), 'written on B before it started\n');
    // B gives its hub as wss://: the same hub, requests over https and the live socket over wss.
    const b = startTlsAgent(url, { dir: bDir, ca: 'env', server: url.replace('https://', 'wss://') });
    await waitConverged([a.dir, b.dir], 'the initial sync over https', 60_000);
    expect(existsSync(join(b.dir, 'from-a.txt'))).toBe(true);
    expect(existsSync(join(a.dir, 'from-b.txt'))).toBe(true);
    await waitUntil(() => liveOpen(a.agent) && liveOpen(b.agent), 'both live sockets over wss', 30_000);

    // Remote changes reach a running agent only through its live socket (catch-up runs at start
    // and on reconnect), so these arriving with no reconnect in the logs arrived over wss.
    writeFileSync(join(a.dir, 'live-a.txt'), 'a live edit on A\n');
    await waitConverged([a.dir, b.dir], 'a live edit from A to B', 30_000);
    writeFileSync(join(b.dir, 'from-a.txt'), 'B edits what A wrote\n');
    unlinkSync(join(b.dir, 'from-b.txt'));
    await waitConverged([a.dir, b.dir], 'a live edit and a deletion from B to A', 30_000);
    expect(await Bun.file(join(a.dir, 'from-a.txt')).text()).toBe('B edits what A wrote\n');
    expect(existsSync(join(a.dir, 'from-b.txt'))).toBe(false);
    for (const { agent } of [a, b]) {
      expect(agent.output()).not.toContain('live connection lost');
      expect(agent.output()).not.toContain('certificate');
    }

    // status --ca sees both agents connected (the hub counts live sockets).
    const status = await runCli(['status', '--server', url, '--token', TOKEN, '--ca', certs.ca, '--json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.output) as { workspaces: Array<{ name: string; agents: unknown[] }> };
    expect(parsed.workspaces.find((w) => w.name === 'tls')?.agents).toHaveLength(2);
  }, 120_000);
});

describe('certificates that do not verify', () => {
  it('refuses an agent --once without --ca, naming the hub and suggesting --ca', async () => {
    const { url } = await startTlsHub();
    const dir = tempDir('warmsync-tree-');
    writeFileSync(join(dir, 'secret.txt'), 'must not reach an unverified hub\n');
    const args = ['agent', dir, '--server', url, '--workspace', 'tls', '--token', TOKEN, '--once'];
    const { code, output } = await runCli([...args, '--state', tempDir('warmsync-state-')]);
    expect(code).not.toBe(0);
    expect(output).toContain(`the certificate of the hub at ${url}`);
    expect(output).toContain('certificate authority this machine does not trust');
    expect(output).toContain('--ca');
    // Nothing crossed to the unverified hub: it knows no workspace.
    const status = await runCli(['status', '--server', url, '--token', TOKEN, '--ca', certs.ca, '--json']);
    expect((JSON.parse(status.output) as { workspaces: unknown[] }).workspaces).toEqual([]);
  }, 60_000);

  it('stays verified when the environment says NODE_TLS_REJECT_UNAUTHORIZED=0', async () => {
    const { url } = await startTlsHub();
    const args = ['agent', tempDir('warmsync-tree-'), '--server', url, '--workspace', 'tls'];
    const { code, output } = await runCli(
      [...args, '--token', TOKEN, '--once', '--state', tempDir('warmsync-state-')],
      { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    );
    expect(code).not.toBe(0);
    expect(output).toContain('does not trust');
  }, 60_000);

  it('refuses an agent trusting another CA, and a running agent stops at once instead of waiting', async () => {
    const { url } = await startTlsHub();
    const args = ['agent', tempDir('warmsync-tree-'), '--server', url, '--workspace', 'tls'];
    const { code, output } = await runCli([
      ...args,
      '--token',
      TOKEN,
      '--ca',
      certs.strangerCa,
      '--state',
      tempDir('warmsync-state-'),
    ]);
    expect(code).toBe(1);
    expect(output).toContain(`the certificate of the hub at ${url}`);
    expect(output).not.toContain('waiting for the hub');
  }, 60_000);

  it('adds --ca to the CAs the process already trusts instead of replacing them', async () => {
    const { url } = await startTlsHub();
    const dir = tempDir('warmsync-tree-');
    writeFileSync(join(dir, 'kept.txt'), 'verified through NODE_EXTRA_CA_CERTS\n');
    const args = ['agent', dir, '--server', url, '--workspace', 'tls', '--token', TOKEN, '--once'];
    // The hub's CA comes from the environment; --ca names an unrelated one, which must not hide it.
    const { code, output } = await runCli(
      [...args, '--ca', certs.strangerCa, '--no-fsync', '--state', tempDir('warmsync-state-')],
      { NODE_EXTRA_CA_CERTS: certs.ca },
    );
    expect(output).toContain('in sync with workspace tls');
    expect(code).toBe(0);
  }, 60_000);

  it('says a certificate for another name is wrong for the URL, which --ca cannot fix', async () => {
    const { url } = await startTlsHub({ cert: certs.otherNameCert, key: certs.otherNameKey });
    const args = ['agent', tempDir('warmsync-tree-'), '--server', url, '--workspace', 'tls'];
    const { code, output } = await runCli([
      ...args,
      '--token',
      TOKEN,
      '--ca',
      certs.ca,
      '--once',
      '--state',
      tempDir('warmsync-state-'),
    ]);
    expect(code).not.toBe(0);
    expect(output).toContain('is not issued for the host name or address in the URL');
    expect(output).toContain('--ca cannot fix this');
  }, 60_000);

  it('gives status without --ca the same clear refusal', async () => {
    const { url } = await startTlsHub();
    const { code, output } = await runCli(['status', '--server', url, '--token', TOKEN]);
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toContain(`the certificate of the hub at ${url}`);
    expect(output).toContain('--ca');
  }, 60_000);
});

describe('a scale-out replica', () => {
  it('serves HTTPS with the same flags, and an agent with --ca syncs through it', async () => {
    const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    const { url, hub } = await startTlsHub({
      extra: ['--postgres', postgres.url, '--redis', redis.url, '--chunks', tempDir('warmsync-chunks-')],
    });
    expect(hub.output()).toContain(`listening on ${url} (replica on postgres + redis`);
    const dir = tempDir('warmsync-tree-');
    writeFileSync(join(dir, 'replicated.txt'), 'through a TLS replica\n');
    const args = ['agent', dir, '--server', url, '--workspace', 'tls', '--token', TOKEN, '--ca', certs.ca];
    const { code, output } = await runCli([...args, '--once', '--no-fsync', '--state', tempDir()]);
    expect(output).toContain('in sync with workspace tls');
    expect(code).toBe(0);
  }, 120_000);
});

describe('flag mistakes', () => {
  /** `warmsync serve ARGS` that must stop before listening: exit code 2 and one line. */
  async function refusedServe(args: string[]): Promise<string> {
    const data = join(tempDir('warmsync-hubdata-'), 'data');
    const { code, output } = await runCli([
      'serve',
      '--data',
      data,
      '--port',
      '0',
      '--token',
      TOKEN,
      ...args,
    ]);
    expect(code).toBe(2);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    // Nothing was made: a fixed command line starts as if this never ran.
    expect(existsSync(data)).toBe(false);
    return lines[0]!;
  }

  it('refuses --tls-cert without --tls-key, and the other way round', async () => {
    expect(await refusedServe(['--tls-cert', certs.cert])).toContain('--tls-cert needs --tls-key');
    expect(await refusedServe(['--tls-key', certs.key])).toContain('--tls-key needs --tls-cert');
  });

  it('refuses a certificate file that does not exist, naming it', async () => {
    const missing = join(certs.dir, 'missing.pem');
    expect(await refusedServe(['--tls-cert', missing, '--tls-key', certs.key])).toBe(
      `warmsync: --tls-cert ${missing} does not exist`,
    );
  });

  it('refuses a certificate file that holds no certificate, and a key that is not a key', async () => {
    expect(await refusedServe(['--tls-cert', certs.key, '--tls-key', certs.key])).toContain(
      'holds no PEM certificate',
    );
    expect(await refusedServe(['--tls-cert', certs.cert, '--tls-key', certs.cert])).toContain(
      'is not a PEM private key',
    );
  });

  it('refuses a key that belongs to another certificate', async () => {
    expect(await refusedServe(['--tls-cert', certs.cert, '--tls-key', certs.otherNameKey])).toContain(
      'does not belong to the certificate',
    );
  });

  it('checks the TLS files of a replica before it connects to anything', async () => {
    const line = await refusedServe([
      '--postgres',
      'postgres://nobody@127.0.0.1:1/none',
      '--tls-key',
      certs.key,
    ]);
    expect(line).toContain('--tls-key needs --tls-cert');
  });

  it('still refuses --no-auth on a non-loopback --host with TLS: TLS is no credential', async () => {
    const data = join(tempDir('warmsync-hubdata-'), 'data');
    const args = ['serve', '--data', data, '--host', '0.0.0.0', '--port', '0', '--no-auth'];
    const { code, output } = await runCli([...args, '--tls-cert', certs.cert, '--tls-key', certs.key]);
    expect(code).toBe(2);
    expect(output).toContain('refusing --no-auth on 0.0.0.0');
  });

  it('refuses an agent or status --ca that is missing or holds no certificate, in one line', async () => {
    const dir = tempDir('warmsync-tree-');
    const agent = ['agent', dir, '--server', 'https://127.0.0.1:1', '--workspace', 'tls', '--once'];
    const missing = join(certs.dir, 'no-such-ca.pem');
    const one = await runCli([...agent, '--ca', missing]);
    expect(one.code).toBe(2);
    expect(one.output.trim()).toBe(`warmsync: --ca ${missing} does not exist`);
    const fromEnv = await runCli(agent, { WARMSYNC_CA: certs.key });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.output.trim()).toBe(
      `warmsync: WARMSYNC_CA ${certs.key} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
    const status = await runCli(['status', '--server', 'https://127.0.0.1:1', '--ca', certs.key]);
    expect(status.code).toBe(2);
    expect(status.output).toContain('holds no PEM certificate');
  });
});
