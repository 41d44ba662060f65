/**
 * Reading the TLS flags' files: every mistake is one UserError (exit code 2) that names the flag
 * and the file; good files come back as PEM text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCa, readCaOption, readServerTls } from '../../src/cli/tls-files.ts';
import { UserError } from '../../src/cli/user-error.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/certificates.ts';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates(mkdtempSync(join(tmpdir(), 'warmsync-certs-')));
});
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

/** The UserError `read` throws: its message, after checking its exit code is 2. */
function refusal(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    return (error as UserError).message;
  }
  throw new Error('expected a refusal');
}

describe('readServerTls', () => {
  it('returns the PEM text and a summary of the names and validity', () => {
    const tls = readServerTls(certs.cert, certs.key);
    expect(tls.cert).toBe(readFileSync(certs.cert, 'utf8'));
    expect(tls.key).toBe(readFileSync(certs.key, 'utf8'));
    expect(tls.summary).toMatch(/^certificate for 127\.0\.0\.1, localhost, valid until /);
  });

  it('refuses a certificate that has expired or is not valid yet', () => {
    const later = new Date(Date.now() + 10 * 86_400_000);
    expect(refusal(() => readServerTls(certs.cert, certs.key, later))).toContain('expired on');
    const earlier = new Date(Date.now() - 10 * 86_400_000);
    expect(refusal(() => readServerTls(certs.cert, certs.key, earlier))).toContain('is not valid before');
  });

  it('refuses a key that needs a passphrase, saying how to remove it', () => {
    const encrypted = join(certs.dir, 'encrypted.key');
    const made = Bun.spawnSync(
      ['openssl', 'pkey', '-in', certs.key, '-aes128', '-passout', 'pass:secret', '-out', encrypted],
      { stderr: 'pipe' },
    );
    expect(made.exitCode).toBe(0);
    expect(refusal(() => readServerTls(certs.cert, encrypted))).toContain('encrypted with a passphrase');
  });

  it('names a folder given as a file', () => {
    expect(refusal(() => readServerTls(certs.dir, certs.key))).toBe(
      `--tls-cert ${certs.dir} is a folder, not a file`,
    );
  });

  it('refuses a damaged certificate between valid PEM markers', () => {
    const damaged = join(certs.dir, 'damaged.pem');
    writeFileSync(
      damaged,
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    );
    expect(refusal(() => readServerTls(damaged, certs.key))).toContain(
      'certificate 1 is not a valid X.509 certificate',
    );
  });
});

describe('readCa', () => {
  it('reads every certificate of a bundle', () => {
    const bundle = join(certs.dir, 'bundle.pem');
    writeFileSync(bundle, readFileSync(certs.ca, 'utf8') + readFileSync(certs.strangerCa, 'utf8'));
    expect(readCa(bundle, '--ca')).toHaveLength(2);
  });

  it('prefers --ca to WARMSYNC_CA and reads neither when neither is given', () => {
    expect(readCaOption(certs.ca, certs.key)).toHaveLength(1);
    expect(refusal(() => readCaOption(undefined, certs.key))).toContain(`WARMSYNC_CA ${certs.key}`);
    expect(readCaOption(undefined, '')).toBeUndefined();
    expect(readCaOption(undefined, undefined)).toBeUndefined();
  });
});
