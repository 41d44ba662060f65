/**
 * Settling what a stopped process or a lost answer left open (see core/intent.ts): pushes whose
 * answer never arrived are settled from the hub's manifest while catching up, writes cut short
 * are settled against the disk when their path is observed, and after the hub went back the
 * bases it no longer holds become local edits to send again (see core/rollback.ts).
 */
import type { ManifestEntry } from '../core/entry.ts';
import { baseAfterPush, baseAfterWrite, type PushIntent } from '../core/intent.ts';
import type { BaseVersion } from '../core/reconcile.ts';
import { baseAfterRollback } from '../core/rollback.ts';
import type { Observation } from './local-tree.ts';
import type { Pusher } from './pusher.ts';
import type { RemoteFeed } from './remote-feed.ts';
import type { AgentState, BaseRecord } from './state.ts';

export interface IntentSettlerDeps {
  state: AgentState;
  feed: RemoteFeed;
  pusher: Pusher;
  log: (line: string) => void;
  /** The next cycle must look at the whole tree. */
  wantFullScan: () => void;
}

/** Settles the agent's open intents from the evidence (see the file's comment). */
export class IntentSettler {
  /** Intents found to have taken effect since `takeRecovered` was last asked (for the log). */
  private recovered = 0;

  constructor(private readonly deps: IntentSettlerDeps) {}

  /** True when a push's outcome is not known yet: a catch-up settles it. */
  pushOpen(): boolean {
    for (const intent of this.deps.state.intents.values()) if (intent.op === 'push') return true;
    return false;
  }

  /**
   * Reads the hub's entries past the cursor, or from further back when a push's outcome is
   * unknown (its answer lost to a kill or to a hub that went away): from the cursor it was sent
   * at, since the cursor may have moved past the entry the hub made of it. That entry, or its
   * absence once the whole range is read, settles the push.
   *
   * Resolves true when the hub went back and the workspace was read again from zero: every path
   * is then reconciled against what the hub holds now.
   */
  async catchUp(): Promise<boolean> {
    const { state, feed } = this.deps;
    const open = [...state.intents].filter((e): e is [string, PushIntent] => e[1].op === 'push');
    const since = Math.max(Math.min(state.cursor, ...open.map(([, intent]) => intent.since)), 0);
    const startedOver = await feed.catchUp(since, (entry) => this.settlePush(entry.path, entry));
    // Read from before each of them: the hub holds no version of their paths made since.
    for (const [path, intent] of open) if (state.intents.get(path) === intent) this.settlePush(path);
    if (startedOver) this.rebaseAfterRollback();
    return startedOver;
  }

  /**
   * Forgets the push intents of an epoch the hub went back from: their sequence numbers meant
   * the old epoch; an unsettled push leaves the old base, so the pushed content is sent again.
   */
  dropPushIntents(): void {
    const { state } = this.deps;
    for (const [path, intent] of [...state.intents]) if (intent.op === 'push') state.dropIntent(path);
  }

  /** The path's base, once a write that a kill may have cut short is settled against the disk. */
  settleWrite(path: string, obs: Observation): BaseRecord | undefined {
    const { state } = this.deps;
    const intent = state.intents.get(path);
    if (intent?.op === 'apply') this.settle(path, baseAfterWrite(state.base(path), intent, obs.content));
    return state.base(path);
  }

  /** After a full cycle: a write whose path it did not look at is neither on disk nor pending any more. */
  dropUnobservedWrites(observed: ReadonlyMap<string, unknown>): void {
    const { state } = this.deps;
    for (const [path, intent] of [...state.intents])
      if (intent.op === 'apply' && !observed.has(path)) state.dropIntent(path);
  }

  /** How many intents were found to have taken effect since the last call. */
  takeRecovered(): number {
    const recovered = this.recovered;
    this.recovered = 0;
    return recovered;
  }

  /** Settles `path`'s push intent, if any, given the hub's version of it after the push was sent. */
  private settlePush(path: string, hub?: ManifestEntry): void {
    const { state } = this.deps;
    const intent = state.intents.get(path);
    if (intent?.op !== 'push' || (hub && hub.seq <= intent.since)) return;
    this.settle(path, baseAfterPush(state.base(path), intent, hub));
  }

  /** Records what `path`'s intent was found to have done: `settled` is the base it leaves. */
  private settle(path: string, settled: BaseVersion | undefined): void {
    const { state } = this.deps;
    const intent = state.intents.get(path)!;
    if (settled === state.base(path)) {
      state.dropIntent(path);
      return;
    }
    this.recovered++;
    state.setBase(path, { content: settled!.content, vector: settled!.vector });
    if (intent.op === 'push') this.deps.pusher.remember(intent.content);
  }

  /** After a catch-up from zero: bases the hub no longer holds become local edits to push again. */
  private rebaseAfterRollback(): void {
    const { state, feed } = this.deps;
    let lost = 0;
    for (const [path, base] of [...state.bases]) {
      const next = baseAfterRollback(base, feed.pending.get(path));
      if (next === base) continue;
      // No stat: the file must be read again rather than taken as the (rewritten) base.
      state.setBase(path, { content: next.content, vector: next.vector });
      lost++;
    }
    if (lost > 0) this.deps.log(`the hub lacks the latest version of ${lost} path(s); sending them again`);
    this.deps.wantFullScan();
  }
}
