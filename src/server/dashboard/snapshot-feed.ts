/**
 * One snapshot per principal and tick, shared by every open page of that principal: a team with
 * ten tabs on the admin login costs the hub one gathering and one rendering a second, not ten.
 *
 * A snapshot younger than `maxAgeMs` is handed out again (the pending one, while it is being
 * gathered, so pages that ask together wait for one gathering). Entries of principals nobody asked
 * for within a few ticks are dropped, so the table holds the principals watching now.
 */
import type { Principal } from '../../core/credential.ts';

export interface SnapshotFeedOptions {
  maxAgeMs: number;
  now?: () => number;
}

/**
 * @example
 * const feed = new SnapshotFeed((p) => gather(p), { maxAgeMs: 900 });
 * await feed.latest({ kind: 'admin' }); // gathers
 * await feed.latest({ kind: 'admin' }); // the same text, gathered once
 */
export class SnapshotFeed {
  private readonly latestOf = new Map<string, { at: number; text: Promise<string> }>();
  private readonly now: () => number;

  constructor(
    private readonly gather: (principal: Principal) => Promise<string>,
    private readonly options: SnapshotFeedOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  latest(principal: Principal): Promise<string> {
    const now = this.now();
    const key = principal.kind === 'admin' ? 'admin' : `credential:${principal.id}`;
    const kept = this.latestOf.get(key);
    if (kept && now - kept.at < this.options.maxAgeMs) return kept.text;
    for (const [other, entry] of this.latestOf)
      if (now - entry.at > 5 * this.options.maxAgeMs) this.latestOf.delete(other);
    const text = this.gather(principal);
    this.latestOf.set(key, { at: now, text });
    // A failed gathering is not handed out again: the next page to ask tries afresh.
    text.catch(() => {
      if (this.latestOf.get(key)?.text === text) this.latestOf.delete(key);
    });
    return text;
  }
}
