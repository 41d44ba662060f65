/**
 * A counting semaphore: at most `limit` file operations in flight, so a checkout that touches
 * thousands of files never runs into EMFILE even under a low `ulimit -n`.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Runs `task` over every item with the limiter's bound; results keep the input order. */
  map<T, R>(items: readonly T[], task: (item: T) => Promise<R>): Promise<R[]> {
    return Promise.all(items.map((item) => this.run(() => task(item))));
  }
}
