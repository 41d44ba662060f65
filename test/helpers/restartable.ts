/**
 * A `warmsync` child process that a test kills and starts again with the same arguments (same
 * folder, state and data), keeping the output of every life for the failure report.
 */
import { type CliProcess, startCli } from './processes.ts';

export class Restartable {
  private current: CliProcess | undefined;
  /** Every process this one has been, oldest first. */
  readonly lives: CliProcess[] = [];

  constructor(
    readonly name: string,
    private readonly args: string[],
  ) {}

  get running(): boolean {
    return this.current !== undefined;
  }

  start(): void {
    if (process.env.WARMSYNC_TEST_LOG) console.log(`[test ${new Date().toISOString()}] start ${this.name}`);
    this.current = startCli(this.args);
    this.lives.push(this.current);
  }

  /** Sends `signal` (SIGKILL unless told) and waits for the process to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.current?.kill(signal);
    this.current = undefined;
  }

  /** The last `lines` lines of every life. */
  tail(lines = 25): string {
    return this.lives
      .map((life, i) => {
        const text = life.output().trimEnd().split('\n').slice(-lines).join('\n');
        return `--- ${this.name}, life ${i + 1}\n${text}`;
      })
      .join('\n');
  }
}
