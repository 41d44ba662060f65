/**
 * A backing service (PostgreSQL, Redis, object storage) that cannot be reached. Stores throw it
 * instead of the driver's error so the HTTP edge can answer 503 with one clear sentence, and the
 * hub keeps running until the service returns.
 */
export class ServiceUnavailableError extends Error {
  constructor(
    readonly service: string,
    reason: string,
  ) {
    super(`${service} is unavailable: ${reason}`);
    this.name = 'ServiceUnavailableError';
  }
}

/** Health of one backing service, as `/healthz` reports it. */
export type ServiceState = 'up' | 'down';

/** Error codes and messages that mean "the connection, not the request, failed". */
const CONNECTION_CODES = new Set([
  'ConnectionRefused',
  'ConnectionClosed',
  'ConnectionTimeout',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/**
 * True when `error` says the service could not be reached or dropped the connection (as opposed
 * to rejecting the request itself). SQLSTATE classes 08 (connection exception) and 57P (operator
 * intervention: shutdown, starting up) count as unreachable.
 */
export function isConnectionError(error: unknown): boolean {
  // Not `instanceof Error`: some native errors (Bun's S3Error) are plain objects with a code.
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))
  )
    return true;
  return /connection terminated|connection refused|not queryable|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error|socket hang up|Unable to connect/i.test(
    String((error as { message?: unknown }).message),
  );
}
