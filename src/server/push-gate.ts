/**
 * At most N pushes in progress at once under one key: one gate per workspace, and one per
 * workspace credential. Each push holds its body (up to the body limit) and the chunks it
 * inflates, so the workspace gate bounds what one workspace can make the hub hold, and the
 * credential gate keeps one credential (one agent, or whoever holds its token) from taking every
 * slot of its workspace. Past either, the hub answers 429 at once rather than queueing, and the
 * agent retries.
 */
export class PushGate {
  private readonly active = new Map<string, number>();

  constructor(readonly limit: number) {}

  /**
   * Takes a slot for `key`; returns the function that gives it back, or undefined when the key
   * has no free slot.
   *
   * @example
   * const release = gate.enter('web');
   * if (!release) return busy();
   * try { await work(); } finally { release(); }
   */
  enter(key: string): (() => void) | undefined {
    const count = this.active.get(key) ?? 0;
    if (count >= this.limit) return undefined;
    this.active.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.active.get(key) ?? 1) - 1;
      if (left > 0) this.active.set(key, left);
      else this.active.delete(key);
    };
  }
}
