/** What went wrong in the ROI report, as a stable code for callers that want to branch on it. */
export type RoiErrorCode = 'config' | 'month' | 'prometheus';

/**
 * An expected failure of the ROI report (a bad config file, a malformed month, an unreachable or
 * failing Prometheus). The message is one sentence meant for the user; the CLI and the Action print
 * it as is, without a stack trace.
 */
export class RoiError extends Error {
  constructor(
    readonly code: RoiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RoiError';
  }
}
