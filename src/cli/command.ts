/** One `warmsync` sub-command: its one-line summary for the top-level help, and its runner. */
export interface Command {
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}
