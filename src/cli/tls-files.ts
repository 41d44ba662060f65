/**
 * Reading the PEM files the TLS flags name: the hub's certificate and key (`serve --tls-cert
 * --tls-key`) and a private CA (`--ca`, WARMSYNC_CA). Each file is parsed here, where it enters,
 * so a wrong file is one clear line at start-up instead of a TLS error on the first connection.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from './user-error.ts';

export interface ServerTls {
  /** The certificate chain, PEM: the hub's certificate first, then any intermediates. */
  cert: string;
  key: string;
  /** For the start-up line: the names the certificate covers and its end of validity. */
  summary: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks the hub's certificate and key: both parse, the key belongs to the
 * certificate, and the certificate is valid now. Throws UserError (exit code 2) naming the file.
 */
export function readServerTls(certFile: string, keyFile: string, now = new Date()): ServerTls {
  const cert = readText(certFile, '--tls-cert');
  const key = readText(keyFile, '--tls-key');
  const chain = parseCertificates(cert, certFile, '--tls-cert');
  const leaf = chain[0]!;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UserError(
      code === 'ERR_MISSING_PASSPHRASE'
        ? `--tls-key ${keyFile} is encrypted with a passphrase: give the key unencrypted (openssl pkey -in ${keyFile} -out KEY)`
        : `--tls-key ${keyFile} is not a PEM private key`,
      2,
    );
  }
  if (!leaf.checkPrivateKey(privateKey))
    throw new UserError(
      `--tls-key ${keyFile} does not belong to the certificate in --tls-cert ${certFile}`,
      2,
    );
  if (leaf.validToDate.getTime() < now.getTime())
    throw new UserError(`the certificate in --tls-cert ${certFile} expired on ${leaf.validTo}`, 2);
  if (leaf.validFromDate.getTime() > now.getTime())
    throw new UserError(`the certificate in --tls-cert ${certFile} is not valid before ${leaf.validFrom}`, 2);
  const names = leaf.subjectAltName?.replaceAll('IP Address:', '').replaceAll('DNS:', '') ?? leaf.subject;
  return { cert, key, summary: `certificate for ${names}, valid until ${leaf.validTo}` };
}

/**
 * The private CA of `--ca FILE`, else of the file WARMSYNC_CA names; undefined when neither is
 * given (the public CAs alone are trusted then).
 */
export function readCaOption(flag: string | undefined, env = process.env.WARMSYNC_CA): string[] | undefined {
  if (flag !== undefined) return readCa(flag, '--ca');
  if (env) return readCa(env, 'WARMSYNC_CA');
  return undefined;
}

/**
 * Reads a private CA for verifying the hub: the PEM certificates in `file` (a bundle may hold
 * several). `flag` names where the path came from (`--ca` or `WARMSYNC_CA`) in the error.
 */
export function readCa(file: string, flag: string): string[] {
  const text = readText(file, flag);
  parseCertificates(text, file, flag);
  return text.match(PEM_CERTIFICATE) ?? [];
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read (permission denied)'
          : code === 'EISDIR'
            ? 'is a folder, not a file'
            : `cannot be read (${code ?? (error as Error).message})`;
    throw new UserError(`${flag} ${file} ${why}`, 2);
  }
}

/** Every certificate of a PEM file, parsed; at least one, or a UserError. */
function parseCertificates(text: string, file: string, flag: string): X509Certificate[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0)
    throw new UserError(`${flag} ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, 2);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new UserError(`${flag} ${file}: certificate ${i + 1} is not a valid X.509 certificate`, 2);
    }
  });
}
