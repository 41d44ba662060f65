/**
 * Progress of long work (an initial sync, a large batch): files and bytes done of the total, the
 * rate, and the time left, from plain numbers. The agent counts; this describes.
 *
 * @example
 * describeProgress({ label: 'initial sync', filesTotal: 200, filesDone: 50, bytesTotal: 4e6, bytesDone: 1e6, startedMs: 0 }, 2000)
 * // { ..., bytesPerSecond: 500000, secondsLeft: 6, line: 'initial sync: 50/200 files, 1.0/4.0 MB, 0.5 MB/s, 6 s left' }
 */
export interface ProgressCounts {
  /** What the work is: 'initial sync', 'pushing', 'applying'. */
  label: string;
  filesTotal: number;
  filesDone: number;
  bytesTotal: number;
  bytesDone: number;
  /** When the work began, on the same clock as `nowMs` (a monotonic one: only for rates). */
  startedMs: number;
}

export interface ProgressReport extends ProgressCounts {
  bytesPerSecond: number;
  filesPerSecond: number;
  /** Undefined until there is a rate to go by. */
  secondsLeft?: number;
  line: string;
}

/** Below this much elapsed time a rate means nothing, so no time left is shown. */
const MIN_ELAPSED_MS = 500;

export function describeProgress(counts: ProgressCounts, nowMs: number): ProgressReport {
  const elapsed = Math.max(0, nowMs - counts.startedMs);
  const seconds = elapsed / 1000;
  const bytesPerSecond = seconds > 0 ? counts.bytesDone / seconds : 0;
  const filesPerSecond = seconds > 0 ? counts.filesDone / seconds : 0;
  let secondsLeft: number | undefined;
  if (elapsed >= MIN_ELAPSED_MS) {
    // Bytes decide the time left when there are many of them; a tree of small files goes by files.
    const byBytes = bytesPerSecond > 0 ? (counts.bytesTotal - counts.bytesDone) / bytesPerSecond : undefined;
    const byFiles = filesPerSecond > 0 ? (counts.filesTotal - counts.filesDone) / filesPerSecond : undefined;
    const estimates = [byBytes, byFiles].filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (estimates.length > 0) secondsLeft = Math.max(0, Math.round(Math.max(...estimates)));
  }
  const mb = (bytes: number) => (bytes / 1_000_000).toFixed(1);
  const parts = [
    `${counts.filesDone}/${counts.filesTotal} files`,
    `${mb(counts.bytesDone)}/${mb(counts.bytesTotal)} MB`,
    `${mb(bytesPerSecond)} MB/s`,
  ];
  if (secondsLeft !== undefined) parts.push(`${formatDuration(secondsLeft)} left`);
  return {
    ...counts,
    bytesPerSecond,
    filesPerSecond,
    ...(secondsLeft === undefined ? {} : { secondsLeft }),
    line: `${counts.label}: ${parts.join(', ')}`,
  };
}

/** 42 s, 3 min 5 s, 2 h 10 min. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
