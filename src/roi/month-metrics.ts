import type { Measured } from './measured.ts';

/** What Prometheus measured over one month; each figure carries its query as its source. */
export interface MonthMetrics {
  /** 95th percentile of sync duration over the month, in seconds. */
  syncLatencyP95Seconds: Measured;
  /** Pre-warm hits / pre-warm attempts over the month, a ratio in [0, 1]. */
  prewarmHitRate: Measured;
  /** Sync conflicts / sync operations over the month, a ratio. */
  conflictRate: Measured;
  /** Number of sync operations in the month. */
  syncOperations: Measured;
  /** Number of sync conflicts in the month. */
  syncConflicts: Measured;
  /** Bytes received by the server (`direction="in"`). */
  bytesIn: Measured;
  /** Bytes sent by the server (`direction="out"`). */
  bytesOut: Measured;
}

/** One UTC day of the month for the chart; `null` means no data that day, never zero. */
export interface DailyPoint {
  /** `YYYY-MM-DD`. */
  date: string;
  syncLatencyP95Seconds: number | null;
  prewarmHitRate: number | null;
}
