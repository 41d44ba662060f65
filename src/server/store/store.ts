/**
 * The hub's durable state, behind an interface so that the embedded default (bun:sqlite) and the
 * scale-out store share one server. Methods are async because the scale-out stores are remote.
 */
import type { ManifestEntry } from '../../core/entry.ts';
import type { ChangeResult } from '../../core/protocol.ts';
import type { PushedChange } from '../../core/resolve.ts';
import type { AccessStore } from './credentials.ts';

export interface CommitRequest {
  workspace: string;
  agent: string;
  branch?: string;
  changes: readonly Omit<PushedChange, 'agent'>[];
  /**
   * When set, the commit records its answer (`rejected` first, then its own results) under this
   * id in the same transaction, and a later commit with the same agent and id commits nothing and
   * returns the recorded answer.
   */
  pushId?: string;
  /** Results the hub decided before the commit (refused paths), kept in the recorded answer. */
  rejected?: readonly ChangeResult[];
}

export interface CommitOutcome {
  head: number;
  results: ChangeResult[];
  /** The manifest entries this commit created, in sequence order (what peers must apply). */
  entries: ManifestEntry[];
  conflicts: number;
  /** True when the answer was replayed from an earlier commit of the same push id. */
  replayed?: boolean;
}

/** A workspace epoch: random, so a store made again from nothing never repeats an old one. */
export function newEpoch(): string {
  return crypto.randomUUID();
}

/** Answers kept per agent and workspace: an agent only ever resends its latest pushes. */
export const PUSH_ANSWERS_KEPT = 64;

/** The answer a replay returns: the first commit's results, all of them, with the head now. */
export function replayedOutcome(head: number, results: ChangeResult[]): CommitOutcome {
  return { head, results, entries: [], conflicts: 0, replayed: true };
}

export interface WorkspaceSummary {
  name: string;
  head: number;
  files: number;
  bytes: number;
  conflicts: number;
}

export interface AuditRecord {
  workspace: string;
  agent: string;
  op: 'push' | 'conflict' | 'reject';
  path: string;
  bytes: number;
  durationMs: number;
  detail: string;
}

/**
 * A dependency snapshot's manifest as stored: the JSON text the hub validated on upload, kept
 * verbatim so a download returns exactly what was checked.
 */
export interface StoredSnapshot {
  workspace: string;
  /** Hex SHA-256 of the lockfile the snapshot was installed from. */
  lockHash: string;
  manifest: string;
  createdAt: string;
}

export interface Store {
  /** Workspace credentials and chunk references, in the same database. */
  readonly access: AccessStore;
  /** Applies the changes in one transaction, deciding each with the core resolution rules. */
  commit(request: CommitRequest): Promise<CommitOutcome>;
  /**
   * Entries with seq > since, oldest first, at most `limit`, with the workspace's head and epoch
   * (the empty string while the workspace has no commit).
   */
  changesSince(
    workspace: string,
    since: number,
    limit: number,
  ): Promise<{ head: number; epoch: string; entries: ManifestEntry[] }>;
  /**
   * Gives the workspace a new epoch: its sequence numbers no longer mean what agents remember
   * (the store was restored from an older copy), so every agent must read it again from zero.
   */
  renewEpoch(workspace: string): Promise<string>;
  /**
   * Every chunk something still needs: the live entries of every workspace and the stored
   * dependency snapshots (what chunk garbage collection keeps).
   */
  liveChunks(): Promise<Set<string>>;
  /** Drops the chunk references of chunks that were collected. */
  forgetChunks(hashes: readonly string[]): Promise<void>;
  /** The current version of one path, if the workspace has ever held it. */
  entry(workspace: string, path: string): Promise<ManifestEntry | undefined>;
  workspaces(): Promise<WorkspaceSummary[]>;
  audit(records: readonly AuditRecord[]): Promise<void>;
  /** Stores (or replaces) the snapshot manifest of `(workspace, lockHash)`. */
  putSnapshot(workspace: string, lockHash: string, manifest: string): Promise<void>;
  /** The snapshot manifest of `(workspace, lockHash)`, if one was stored. */
  snapshot(workspace: string, lockHash: string): Promise<StoredSnapshot | undefined>;
  close(): Promise<void>;
}
