/**
 * The agent's public interface as other modules see it: its options and the events it reports.
 * Re-exported by agent.ts, which is where callers import them from.
 */

import type { EntryContent } from '../core/entry.ts';
import type { IgnoreOptions } from '../core/ignore.ts';
import type { Problem } from '../core/protocol.ts';
import type { ModeMap } from '../core/sync-mode.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { Traces } from '../traces/traces.ts';
import type { MergeSettings } from './text-merger.ts';

/** How an agent is set up: the `warmsync agent` flags, or a test's choices. */
export interface AgentOptions {
  dir: string;
  /** Files this large are streamed, never held whole (default STREAMED_FILE_BYTES, 64 MiB). */
  streamFilesFrom?: number;
  server: string;
  workspace: string;
  token?: string;
  /** PEM certificates of a private CA that signs the hub's certificate (`--ca`). */
  ca?: readonly string[];
  stateDir: string;
  ignore?: IgnoreOptions;
  allowGit?: boolean;
  /**
   * Reads the work tree's branch (default: .git/HEAD, see git.ts). Tests stand in for git moving
   * HEAD at a moment of their choosing with it.
   */
  readBranch?: (dir: string) => Promise<string | undefined>;
  /** Max file operations in flight (default 64). */
  concurrency?: number;
  /**
   * Quiet time before a burst of watcher events is handled (default 0: at once). A read that
   * lands mid-save (the file changes while read, or was just emptied) is retried a few ms later.
   */
  debounceMs?: number;
  /** Shortest interval between full rescans; unset, at least 5 s and 1000x a full cycle's CPU time. */
  rescanMinMs?: number;
  /** Changes per push request (default 2,000, or 20,000 for a checkout; the hub refuses more than 50,000). */
  pushSlice?: number;
  /** Use polling instead of the watcher (network mounts). */
  poll?: boolean;
  /**
   * Flush remote versions to disk before they become visible (default true). Off only for
   * throwaway trees, where a power loss cannot matter.
   */
  fsync?: boolean;
  log?: (line: string) => void;
  /** Called for every remote version written to disk. */
  onApplied?: (event: AppliedEvent) => void;
  /** Prometheus metrics of this agent, when they are served. */
  metrics?: AgentMetrics;
  /** Called after every push with its results. */
  onPushed?: (event: { paths: string[]; bytes: number; conflicts: string[] }) => void;
  /** Problems found beside sync (a refused dependency snapshot), reported with the agent's own. */
  otherProblems?: () => readonly Problem[];
  /** Which way each path syncs (default: every path two-way). */
  modes?: ModeMap;
  /** Three-way merge of concurrent text edits (default on; see text-merger.ts). */
  merge?: MergeSettings;
  /** Spans of pushes and applies (`agent --otlp`); none without it. */
  traces?: Traces;
}

/** A remote version written to disk. */
export interface AppliedEvent {
  path: string;
  kind: EntryContent['kind'];
  bytes: number;
  seq: number;
  origin: string;
}

/** What one cycle did. */
export interface SyncSummary {
  pushed: number;
  applied: number;
  problems: Problem[];
}
