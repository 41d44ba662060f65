/**
 * What holds sync back on the user's word or for the user's sake: `warmsync pause` (nothing is
 * pushed or applied until resume) and the safety halt (a cycle's mass deletion is held until
 * `resume --allow-deletes`; the decisions are core/deletion-guard.ts's).
 */
import { type GuardedPush, guardDeletions, type HaltState, type KnownBases } from '../core/deletion-guard.ts';

/** Pause and halt of one agent (see the file's comment). */
export class SyncHold {
  private pausedValue = false;
  private halt: HaltState = { deletesAllowed: false };

  /** `dir` is named in the messages, which tell the user how to let held deletions go. */
  constructor(
    private readonly dir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Nothing is pushed or applied; watcher events are still noted. */
  get paused(): boolean {
    return this.pausedValue;
  }

  /** Why deletions are held, and how many, while the halt stands. */
  get held(): HaltState['held'] {
    return this.halt.held;
  }

  pause(): void {
    this.pausedValue = true;
    this.log('paused: nothing is pushed or applied until warmsync resume');
  }

  /**
   * Ends a pause; `allowDeletes` lets the held deletions go in the next cycle. Returns how many
   * deletions were held.
   */
  resume(allowDeletes: boolean): number {
    const held = this.halt.held?.deletions ?? 0;
    this.pausedValue = false;
    this.halt = { ...this.halt, deletesAllowed: allowDeletes && held > 0 };
    this.log(allowDeletes && held > 0 ? `resumed; letting ${held} held deletion(s) go` : 'resumed');
    return held;
  }

  /** The safety halt over a cycle's pushes: the pushes that may go. */
  guard<P extends GuardedPush>(pushes: readonly P[], full: boolean, bases: KnownBases): P[] {
    const outcome = guardDeletions(pushes, full, this.halt, bases);
    const held = outcome.halt.held;
    if (outcome.announce === 'cleared') this.log('halt cleared: no deletion is held any more');
    if (outcome.announce === 'halted' && held)
      this.log(
        `halted: ${held.deletions} local deletion(s) held, not pushed, because ${held.reason}; run warmsync resume ${this.dir} --allow-deletes to let them go`,
      );
    this.halt = outcome.halt;
    return outcome.allowed;
  }

  /** The agent's state as `warmsync status` names it. */
  describe(): 'halted' | 'paused' | 'running' {
    return this.halt.held ? 'halted' : this.pausedValue ? 'paused' : 'running';
  }
}
