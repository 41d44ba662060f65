/**
 * At most N pushes of one workspace in progress at once. Each push holds its body (up to the body
 * limit) and the chunks it inflates, so this bounds what one workspace can make the hub hold;
 * past it the hub answers 429 at once rather than queueing, and the agent retries.
 */
export class PushGate {
  private readonly active = new Map<string, number>();

  constructor(readonly perWorkspace: number) {}

  /**
   * Takes a slot for `workspace`; returns the function that gives it back, or undefined when the
   * workspace has no free slot.
   *
   * @example
   * const release = gate.enter('web');
   * if (!release) return busy();
   * try { await work(); } finally { release(); }
   */
  enter(workspace: string): (() => void) | undefined {
    const count = this.active.get(workspace) ?? 0;
    if (count >= this.perWorkspace) return undefined;
    this.active.set(workspace, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.active.get(workspace) ?? 1) - 1;
      if (left > 0) this.active.set(workspace, left);
      else this.active.delete(workspace);
    };
  }
}
