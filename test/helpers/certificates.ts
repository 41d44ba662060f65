/**
 * Certificates for the TLS tests, made with the real `openssl` in a temporary folder: a private
 * CA, a hub certificate it signs for 127.0.0.1 and localhost, one it signs for another name only,
 * and a second CA that signed nothing the hub uses.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** The private CA's certificate (what agents get with --ca). */
  ca: string;
  /** The hub's certificate and key: subjectAltName IP:127.0.0.1, DNS:localhost, signed by `ca`. */
  cert: string;
  key: string;
  /** Signed by `ca` but for DNS:other.example only. */
  otherNameCert: string;
  otherNameKey: string;
  /** A CA that signed neither certificate. */
  strangerCa: string;
}

function openssl(cwd: string, ...args: string[]): void {
  const result = Bun.spawnSync(['openssl', ...args], { cwd, stdout: 'pipe', stderr: 'pipe' });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr.toString()}`);
}

/** A self-signed CA certificate NAME.pem with its key NAME.key. */
function makeCa(dir: string, name: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=warmsync test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

/** A server certificate NAME.pem (key NAME.key) signed by the CA `ca`, for `altNames`. */
function makeLeaf(dir: string, name: string, ca: string, altNames: string): void {
  openssl(
    dir,
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  );
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

/** Makes the certificates in `dir` (a temporary folder the caller removes). */
export function makeTestCertificates(dir: string): TestCertificates {
  makeCa(dir, 'ca');
  makeCa(dir, 'stranger-ca');
  makeLeaf(dir, 'hub', 'ca', 'IP:127.0.0.1,DNS:localhost');
  makeLeaf(dir, 'other-name', 'ca', 'DNS:other.example');
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'hub.pem'),
    key: join(dir, 'hub.key'),
    otherNameCert: join(dir, 'other-name.pem'),
    otherNameKey: join(dir, 'other-name.key'),
    strangerCa: join(dir, 'stranger-ca.pem'),
  };
}
