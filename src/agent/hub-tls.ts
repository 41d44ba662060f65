/**
 * How everything that talks to a hub (the agent's requests and live socket, `warmsync status`,
 * `warmsync prewarm --server`) verifies the hub's certificate, and the sentence it gives when the
 * certificate does not verify.
 *
 * Verification is never turned off: the options always say `rejectUnauthorized: true`, which
 * also wins over a NODE_TLS_REJECT_UNAUTHORIZED=0 left in the environment.
 */
import { getCACertificates } from 'node:tls';

/** TLS options for Bun's fetch and WebSocket; without effect on http:// and ws:// URLs. */
export interface HubTlsOptions {
  rejectUnauthorized: true;
  ca?: string[];
}

/**
 * The TLS options for a hub, trusting what this process trusts by default (the public CAs, and
 * those NODE_EXTRA_CA_CERTS adds) plus `privateCa` (PEM certificates from `--ca`). Bun's `ca`
 * replaces its default list rather than adding to it, so the defaults are passed along: a hub with
 * a public certificate still verifies when `--ca` is given.
 *
 * @example
 * await fetch(`${hub}/v1/status`, { tls: hubTls(readCa('ca.pem')) });
 */
export function hubTls(privateCa?: readonly string[]): HubTlsOptions {
  if (!privateCa || privateCa.length === 0) return { rejectUnauthorized: true };
  return { rejectUnauthorized: true, ca: [...getCACertificates('default'), ...privateCa] };
}

/**
 * What is wrong with the hub's certificate, from a failed fetch (its error `code`) or a failed
 * WebSocket (Bun's event message, which carries the reason in words only); undefined when the
 * failure is not about the certificate.
 */
export function certificateProblem(error: unknown): CertificateProblem | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    const known = BY_CODE[code];
    if (known) return known;
  }
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  for (const [pattern, problem] of BY_MESSAGE) if (pattern.test(message)) return problem;
  return undefined;
}

export interface CertificateProblem {
  /** What the certificate lacks, as a phrase: "is signed by a CA this machine does not trust". */
  reason: string;
  /** Whether a private CA given with --ca can cure it (not for a wrong name or a bad date). */
  curedByCa: boolean;
}

const UNTRUSTED: CertificateProblem = {
  reason: 'is signed by a certificate authority this machine does not trust',
  curedByCa: true,
};
const SELF_SIGNED: CertificateProblem = { reason: 'is self-signed', curedByCa: true };
const WRONG_NAME: CertificateProblem = {
  reason: 'is not issued for the host name or address in the URL',
  curedByCa: false,
};
const EXPIRED: CertificateProblem = { reason: 'has expired', curedByCa: false };
const NOT_YET_VALID: CertificateProblem = { reason: 'is not valid yet', curedByCa: false };
const INVALID: CertificateProblem = { reason: 'does not verify', curedByCa: true };

// OpenSSL's verify codes as Bun's fetch reports them.
const BY_CODE: Record<string, CertificateProblem> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED,
  SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED,
  CERT_UNTRUSTED: UNTRUSTED,
  DEPTH_ZERO_SELF_SIGNED_CERT: SELF_SIGNED,
  ERR_TLS_CERT_ALTNAME_INVALID: WRONG_NAME,
  HOSTNAME_MISMATCH: WRONG_NAME,
  CERT_HAS_EXPIRED: EXPIRED,
  CERT_NOT_YET_VALID: NOT_YET_VALID,
  CERT_SIGNATURE_FAILURE: INVALID,
  CERT_REJECTED: INVALID,
};

// Bun's WebSocket says only "TLS handshake failed: <OpenSSL's reason>".
const BY_MESSAGE: Array<[RegExp, CertificateProblem]> = [
  [/does not match certificate's altnames|hostname mismatch/i, WRONG_NAME],
  [/certificate has expired/i, EXPIRED],
  [/certificate is not yet valid/i, NOT_YET_VALID],
  [/self[- ]signed certificate in certificate chain/i, UNTRUSTED],
  [/self[- ]signed certificate/i, SELF_SIGNED],
  [/unable to (verify the first certificate|get (local )?issuer certificate)/i, UNTRUSTED],
  [/certificate (signature failure|rejected|not trusted|verify failed)/i, INVALID],
];

/**
 * The one sentence for a hub whose certificate does not verify: names the hub and says what to
 * do, `--ca` when a private CA can cure it.
 */
export function describeCertificateProblem(hub: string, problem: CertificateProblem): string {
  const advice = problem.curedByCa
    ? 'if a private CA signed it, pass that CA with --ca FILE (or WARMSYNC_CA)'
    : 'connect with a name the certificate covers, or give the hub a certificate that is valid for this one (--ca cannot fix this)';
  return `the certificate of the hub at ${hub} ${problem.reason}: ${advice}; certificates are always verified`;
}
