/**
 * Counting the progress of a cycle that moves much (an initial sync, a checkout): the agent opens
 * a batch once a cycle is planned, adds each pushed slice and each written file, and closes it at
 * the cycle's end; `report()` describes it (core/progress.ts) for status and the terminal.
 */
import type { EntryContent } from '../core/entry.ts';
import { describeProgress, type ProgressCounts, type ProgressReport } from '../core/progress.ts';

/** A cycle moving at least this many files or bytes reports its progress. */
const BATCH_PROGRESS_FILES = 200;
const BATCH_PROGRESS_BYTES = 32 * 1024 * 1024;

export const sizeOf = (content: EntryContent) => (content.kind === 'file' ? content.size : 0);

export class BatchProgress {
  private counts: ProgressCounts | undefined;
  private firstDone = false;

  /** Opens a batch for a cycle that moves `contents`, if it is large enough to be worth showing. */
  begin(contents: readonly EntryContent[], branchSwitch: boolean): void {
    const bytes = contents.reduce((n, c) => n + sizeOf(c), 0);
    if (contents.length < BATCH_PROGRESS_FILES && bytes < BATCH_PROGRESS_BYTES) return;
    this.counts = {
      label: !this.firstDone ? 'initial sync' : branchSwitch ? 'branch switch' : 'large batch',
      filesTotal: contents.length,
      filesDone: 0,
      bytesTotal: bytes,
      bytesDone: 0,
      startedMs: performance.now(),
    };
  }

  advance(files: number, bytes: number): void {
    if (!this.counts) return;
    this.counts.filesDone = Math.min(this.counts.filesTotal, this.counts.filesDone + files);
    this.counts.bytesDone = Math.min(this.counts.bytesTotal, this.counts.bytesDone + bytes);
  }

  /** Closes the batch; `full`: the cycle looked at the whole tree (the initial sync is over). */
  end(full: boolean): void {
    this.counts = undefined;
    if (full) this.firstDone = true;
  }

  report(): ProgressReport | undefined {
    return this.counts && describeProgress(this.counts, performance.now());
  }
}
