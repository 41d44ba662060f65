/**
 * How the agent's client verifies a hub's certificate: which failures are certificate problems
 * and what they say, and a real TLS hub in this process reached by requests and the live socket,
 * with and without the private CA.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubClient, HubError, isHubUrl, serverUrls } from '../../src/agent/client.ts';
import {
  type CertificateProblem,
  certificateProblem,
  describeCertificateProblem,
  hubTls,
} from '../../src/agent/hub-tls.ts';
import { readCa } from '../../src/cli/tls-files.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/certificates.ts';
import { cleanup, startHub } from '../helpers/harness.ts';

describe('certificateProblem', () => {
  const failure = (code: string, message = 'whatever') => Object.assign(new TypeError(message), { code });
  const cases: [what: string, error: unknown, reason: string | undefined, curedByCa?: boolean][] = [
    ['fetch: a leaf from an unknown CA', failure('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'does not trust', true],
    ['fetch: a private root in the chain', failure('SELF_SIGNED_CERT_IN_CHAIN'), 'does not trust', true],
    ['fetch: a self-signed certificate', failure('DEPTH_ZERO_SELF_SIGNED_CERT'), 'self-signed', true],
    ['fetch: another name', failure('ERR_TLS_CERT_ALTNAME_INVALID'), 'host name', false],
    ['fetch: expired', failure('CERT_HAS_EXPIRED'), 'expired', false],
    [
      'WebSocket: unknown CA',
      "WebSocket connection to 'wss://127.0.0.1:1/' failed: TLS handshake failed: unable to verify the first certificate",
      'does not trust',
      true,
    ],
    [
      'WebSocket: another name',
      "WebSocket connection to 'wss://127.0.0.1:1/' failed: TLS handshake failed: Hostname/IP does not match certificate's altnames",
      'host name',
      false,
    ],
    [
      'WebSocket: self-signed',
      "WebSocket connection to 'wss://x/' failed: TLS handshake failed: self signed certificate",
      'self-signed',
      true,
    ],
    ['a refused connection', failure('ECONNREFUSED', 'Unable to connect'), undefined],
    ['a plain HTTP server on an https:// URL', failure('EPROTO', 'The TLS handshake failed'), undefined],
    ['nothing at all', undefined, undefined],
  ];
  for (const [what, error, reason, curedByCa] of cases) {
    it(`${what}: ${reason ?? 'not a certificate problem'}`, () => {
      const problem = certificateProblem(error);
      if (reason === undefined) expect(problem).toBeUndefined();
      else {
        expect(problem?.reason).toContain(reason);
        expect(problem?.curedByCa).toBe(curedByCa!);
      }
    });
  }
});

describe('describeCertificateProblem', () => {
  it('names the hub and suggests --ca when a private CA can cure it', () => {
    const problem: CertificateProblem = { reason: 'is self-signed', curedByCa: true };
    const line = describeCertificateProblem('https://hub:7420', problem);
    expect(line).toContain('the certificate of the hub at https://hub:7420 is self-signed');
    expect(line).toContain('--ca FILE (or WARMSYNC_CA)');
  });

  it('says --ca cannot help a certificate for another name', () => {
    const problem: CertificateProblem = { reason: 'is not issued for this name', curedByCa: false };
    expect(describeCertificateProblem('https://hub:7420', problem)).toContain('--ca cannot fix this');
  });
});

describe('hubTls', () => {
  it('always verifies, and keeps the public CAs beside a private one', () => {
    expect(hubTls()).toEqual({ rejectUnauthorized: true });
    const withCa = hubTls(['PRIVATE']);
    expect(withCa.rejectUnauthorized).toBe(true);
    expect(withCa.ca?.at(-1)).toBe('PRIVATE');
    expect(withCa.ca?.length).toBeGreaterThan(10);
  });
});

describe('hub URLs', () => {
  it('reads ws:// and wss:// as the same hub as http:// and https://', () => {
    expect(serverUrls('wss://hub.example.com:7420/, ws://127.0.0.1:7420')).toEqual([
      'https://hub.example.com:7420',
      'http://127.0.0.1:7420',
    ]);
  });

  it('accepts http:// and https:// only', () => {
    expect(isHubUrl('https://hub.example.com')).toBe(true);
    expect(isHubUrl('http://127.0.0.1:7420')).toBe(true);
    expect(isHubUrl('ftp://hub.example.com')).toBe(false);
    expect(isHubUrl('hub.example.com:7420')).toBe(false);
  });
});

describe('HubClient against a TLS hub', () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = makeTestCertificates(mkdtempSync(join(tmpdir(), 'warmsync-certs-')));
  });
  afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));
  afterEach(cleanup);

  const tlsHub = () =>
    startHub({ tls: { cert: readFileSync(certs.cert, 'utf8'), key: readFileSync(certs.key, 'utf8') } });
  const client = (url: string, ca?: string[]) =>
    new HubClient({ server: url, workspace: 'test', agentId: '0a1b2c3d4e5f6071', ca });

  /** Opens the live socket: resolves 'open', or the reason it closed with. */
  const openLive = (hub: HubClient) =>
    new Promise<string>((resolve) => {
      const live = hub.live({
        onOpen: () => {
          live.close();
          resolve('open');
        },
        onMessage: () => {},
        onClose: resolve,
      });
    });

  it('listens on https:// and answers requests and the live socket with the CA', async () => {
    const hub = tlsHub();
    expect(hub.url).toStartWith('https://127.0.0.1:');
    const verified = client(hub.url, readCa(certs.ca, '--ca'));
    expect((await verified.changes(0)).head).toBe(0);
    expect(await openLive(verified)).toBe('open');
  });

  it('refuses requests without the CA with a certificate error that is not an outage', async () => {
    const hub = tlsHub();
    const error = await client(hub.url)
      .changes(0)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).certificate).toBe(true);
    expect((error as HubError).message).toContain(`the certificate of the hub at ${hub.url}`);
  });

  it('suggests https:// when an http:// URL reaches a TLS hub', async () => {
    const hub = tlsHub();
    const plain = hub.url.replace('https://', 'http://');
    const error = await client(plain)
      .changes(0)
      .catch((e: unknown) => e);
    expect((error as HubError).message).toContain(`if the hub serves HTTPS, use ${hub.url}`);
  });

  it('refuses the live socket without the CA and says why', async () => {
    const hub = tlsHub();
    const reason = await openLive(client(hub.url));
    expect(reason).toContain(`the certificate of the hub at ${hub.url}`);
    expect(reason).toContain('--ca');
    expect(hub.sync.hub.count()).toBe(0);
  });
});
