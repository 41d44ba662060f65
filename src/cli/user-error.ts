/**
 * An expected failure caused by the user's input or environment (a bad flag, an unreachable
 * server, a missing file). The CLI prints its message as one line on stderr and exits non-zero,
 * never with a stack trace.
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** Process exit code; 2 for usage mistakes, 1 for everything else. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
