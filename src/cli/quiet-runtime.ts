/**
 * An agent sits idle most of its life, and Bun's own collector timer wakes it every second: it
 * reads the process's memory figures (/proc/self/statm) and hands the collector a turn.
 * JavaScriptCore still collects whenever allocations call for it without that timer. On a
 * 10,000-file tree the idle agent used 0.067 and 0.083 % of a core with the timer off, against
 * 0.150 and 0.250 % with it (BENCHMARKS.md, "Idle CPU: Bun's collector timer").
 *
 * Bun reads the switch, BUN_GC_TIMER_DISABLE, only as it starts, so the agent starts itself
 * once more with it set. It does so in place (execve): the process id, open descriptors and
 * arguments stay, so a supervisor or a shell sees no change.
 */
export const QUIET_RUNTIME_ENV = 'BUN_GC_TIMER_DISABLE';

/**
 * Restarts this process in place with the timer off, unless the variable is set already (by an
 * earlier call, or by the user, whose value stands). Returns only when it did not restart.
 */
export function restartWithQuietRuntime(): void {
  if (process.env[QUIET_RUNTIME_ENV] !== undefined) return;
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never })
    .execve;
  if (typeof execve !== 'function' || !process.versions.bun) return;
  try {
    execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      ...process.env,
      [QUIET_RUNTIME_ENV]: '1',
    });
  } catch {
    // No restart here (a sandbox that forbids execve): run on with the timer.
  }
}
