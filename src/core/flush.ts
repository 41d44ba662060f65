/**
 * When a flush is done. A flush asked at time T is done once every local change made before T is
 * on the hub and every hub change accepted before T is on disk here. The agent notes the hub's
 * head at T and then runs full cycles (a scan of the whole tree, started after T, whose pushes are
 * answered before the cycle ends); this function judges where that leaves it. Pure.
 */
import type { Problem } from './protocol.ts';

export interface FlushProgress {
  /** The hub's head sequence when the flush was asked. */
  head: number;
  /** The agent's cursor: every entry up to it is applied, superseded or deferred. */
  cursor: number;
  /** Remote versions at or below `head` still waiting to be written (deferred ones excluded). */
  waitingRemote: number;
  /** A full cycle started after the request has ended (its pushes answered). */
  scannedSinceRequest: boolean;
  /** Changes nothing more will move: refused by the hub, or not writable here (deferred...). */
  unsynced: readonly Problem[];
  paused: boolean;
  /** Why deletions are held (the safety halt), when they are. */
  halted: string | undefined;
}

export type FlushVerdict = { type: 'done' } | { type: 'wait' } | { type: 'fail'; reason: string };

/** Judges a flush after a cycle; `wait` means run another cycle (until the timeout). */
export function judgeFlush(p: FlushProgress): FlushVerdict {
  if (p.paused) return { type: 'fail', reason: 'the agent is paused (warmsync resume DIR lets it sync)' };
  if (p.halted)
    return {
      type: 'fail',
      reason: `deletions are held: ${p.halted} (warmsync resume DIR --allow-deletes lets them go)`,
    };
  if (!p.scannedSinceRequest) return { type: 'wait' };
  if (p.unsynced.length > 0) return { type: 'fail', reason: describeProblems(p.unsynced) };
  if (p.cursor < p.head || p.waitingRemote > 0) return { type: 'wait' };
  return { type: 'done' };
}

/** One line for the changes that did not sync: each path with its reason, the first `max`. */
export function describeProblems(problems: readonly Problem[], max = 20): string {
  const shown = problems.slice(0, max).map((p) => `${p.path} (${p.code}: ${p.message})`);
  const more = problems.length > max ? `, and ${problems.length - max} more` : '';
  return `${problems.length} change(s) refused or not applied: ${shown.join(', ')}${more}`;
}
