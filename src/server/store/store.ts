/**
 * The hub's durable state, behind an interface so that the embedded default (bun:sqlite) and the
 * scale-out store share one server. Methods are async because the scale-out stores are remote.
 */
import type { ManifestEntry } from '../../core/entry.ts';
import type { PathVersion } from '../../core/history.ts';
import type { ChangeResult } from '../../core/protocol.ts';
import type { PushedChange } from '../../core/resolve.ts';
import type { ConflictRecord, HubWrite } from '../../core/settle.ts';
import { mergeVectors, type VersionVector } from '../../core/vector.ts';
import type { AccessStore } from './credentials.ts';
import type { SessionStore } from './sessions.ts';
import type { JournaledChunk } from './sqlite-chunk-journal.ts';

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
  /**
   * Chunks the push uploaded, recorded as the workspace's (Access.referenceChunks) in the same
   * transaction, so that a push costs one flush of the store, not one for them and one for it.
   */
  uploads?: readonly string[];
  /**
   * Chunk bytes written in the same transaction, on a store with a `chunkJournal`: durable with
   * the commit, so the chunk folder need not be flushed before it (see sqlite-chunk-journal.ts).
   */
  journal?: readonly JournaledChunk[];
}

export interface CommitOutcome {
  head: number;
  results: ChangeResult[];
  /** The manifest entries this commit created, in sequence order (what peers must apply). */
  entries: ManifestEntry[];
  conflicts: number;
  /** The conflict copies this commit stored, which the store records as unsettled conflicts. */
  conflictCopies: ConflictCopyMade[];
  /** True when the answer was replayed from an earlier commit of the same push id. */
  replayed?: boolean;
}

/** A conflict copy a commit stored beside its path (the store adds the hub's time). */
export type ConflictCopyMade = Omit<ConflictRecord, 'at'>;

/**
 * Versions the hub writes on its own account (a conflict settled, a copy over the cap dropped, a
 * version restored), committed only if every path still holds the sequence the plan was made
 * from; otherwise nothing is written and the caller plans again from what the paths hold now.
 */
export interface HubCommitRequest {
  workspace: string;
  writes: readonly HubWrite[];
  /** Conflicts (by copy path) this commit settles, with how. */
  settle: ReadonlyArray<{ copyPath: string; how: string }>;
}

export type HubCommitOutcome = { stale: true } | { stale: false; head: number; entries: ManifestEntry[] };

/** What one expiry run dropped. */
export interface ExpiryReport {
  /** Replaced or deleted versions past retention, no longer kept in history. */
  versions: number;
  /** Tombstones past retention and below every active cursor. */
  tombstones: number;
}

/** A workspace's floor and expired vector once `dropped` tombstones are added to `expired`. */
export function expiredSummary(
  expired: VersionVector,
  dropped: ReadonlyArray<{ seq: number; vector: VersionVector }>,
): { floor: number; vector: VersionVector } {
  let floor = 0;
  let vector = expired;
  for (const d of dropped) {
    floor = Math.max(floor, d.seq);
    vector = mergeVectors(vector, d.vector);
  }
  return { floor, vector };
}

export interface ExpiryRequest {
  /** Versions replaced, and tombstones made, before this time (ISO 8601) are past retention. */
  cutoff: string;
  /** Per workspace, the highest tombstone sequence that may go (see tombstoneSeqLimit). */
  tombstoneLimit: (workspace: string, head: number) => number;
}

/** A workspace epoch: random, so a store made again from nothing never repeats an old one. */
export function newEpoch(): string {
  return crypto.randomUUID();
}

/** Answers kept per agent and workspace: an agent only ever resends its latest pushes. */
export const PUSH_ANSWERS_KEPT = 64;

/** The answer a replay returns: the first commit's results, all of them, with the head now. */
export function replayedOutcome(head: number, results: ChangeResult[]): CommitOutcome {
  return { head, results, entries: [], conflicts: 0, conflictCopies: [], replayed: true };
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
  op: 'push' | 'merge' | 'conflict' | 'reject' | 'resolve' | 'restore' | 'expire';
  path: string;
  bytes: number;
  durationMs: number;
  detail: string;
}

/** An audit row as read back: the record with the hub's time (ISO 8601) it was written at. */
export interface AuditEvent extends AuditRecord {
  at: string;
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

/** Chunks a commit carried (CommitRequest.journal) that the chunk store may not hold durably yet. */
export interface ChunkJournal {
  pending(): Promise<JournaledChunk[]>;
  /**
   * Forgets chunks the chunk store now holds durably. Not flushed on its own: a row a power loss
   * brings back only puts its chunk into the folder once more at the next start.
   */
  drop(hashes: readonly string[]): Promise<void>;
}

export interface Store {
  /** Workspace credentials and chunk references, in the same database. */
  readonly access: AccessStore;
  readonly sessions: SessionStore;
  /** Present on a store that can take a small push's chunks into its commit (CommitRequest.journal). */
  readonly chunkJournal?: ChunkJournal;
  /** Applies the changes in one transaction, deciding each with the core resolution rules. */
  commit(request: CommitRequest): Promise<CommitOutcome>;
  /**
   * Entries with seq > since, oldest first, at most `limit`, with the workspace's head and epoch
   * (the empty string while the workspace has no commit), and its floor: the sequence of the
   * newest tombstone dropped by expiry (0 when none), below which a page may lack deletions.
   */
  changesSince(
    workspace: string,
    since: number,
    limit: number,
  ): Promise<{ head: number; epoch: string; floor: number; entries: ManifestEntry[] }>;
  /** See HubCommitRequest. */
  commitHub(request: HubCommitRequest): Promise<HubCommitOutcome>;
  /** The workspace's unsettled conflicts whose copies are still there, oldest first. */
  conflicts(workspace: string): Promise<ConflictRecord[]>;
  /** The versions of `path` the hub keeps: its history and its current version, newest first. */
  history(workspace: string, path: string): Promise<PathVersion[]>;
  /** Drops history and tombstones past retention (see ExpiryRequest). */
  expire(request: ExpiryRequest): Promise<ExpiryReport>;
  /**
   * Gives the workspace a new epoch: its sequence numbers no longer mean what agents remember
   * (the store was restored from an older copy), so every agent must read it again from zero.
   */
  renewEpoch(workspace: string): Promise<string>;
  /**
   * Every chunk something still needs: the live entries of every workspace, the versions kept in
   * history and the stored dependency snapshots (what chunk garbage collection keeps).
   */
  liveChunks(): Promise<Set<string>>;
  /** Drops the chunk references of chunks that were collected. */
  forgetChunks(hashes: readonly string[]): Promise<void>;
  /** The current version of one path, if the workspace has ever held it. */
  entry(workspace: string, path: string): Promise<ManifestEntry | undefined>;
  workspaces(): Promise<WorkspaceSummary[]>;
  audit(records: readonly AuditRecord[]): Promise<void>;
  /** The newest `limit` audit rows, newest first: of one workspace, or of all when it is undefined. */
  recentAudit(workspace: string | undefined, limit: number): Promise<AuditEvent[]>;
  /** Stores (or replaces) the snapshot manifest of `(workspace, lockHash)`. */
  putSnapshot(workspace: string, lockHash: string, manifest: string): Promise<void>;
  /** The snapshot manifest of `(workspace, lockHash)`, if one was stored. */
  snapshot(workspace: string, lockHash: string): Promise<StoredSnapshot | undefined>;
  close(): Promise<void>;
}
