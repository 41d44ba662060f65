import { type ApplyOutcome, finishWrite, stageContent } from '../../src/agent/apply.ts';

/**
 * Applies one remote version as a batch does, stage then rename, without the flush between them
 * (which only matters for a power loss).
 */
export function applyNow(...args: Parameters<typeof stageContent>): ApplyOutcome {
  const outcome = stageContent(...args);
  return outcome.ok === 'staged' ? finishWrite(outcome.staged) : outcome;
}
