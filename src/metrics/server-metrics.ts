/**
 * Every metric the hub exports, defined in one place, on a registry owned by one server instance
 * (no global registry, so several servers in one process, as in tests and the demo, stay apart).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ServerMetrics {
  registry: Registry;
  /** Counts body bytes by direction, in the Prometheus counter and in totals for `status`. */
  countBytes(direction: 'in' | 'out', bytes: number): void;
  bytesTotals: { in: number; out: number };
  syncDuration: Histogram<'workspace'>;
  syncBytes: Counter<'direction'>;
  syncOperations: Counter<'workspace' | 'result'>;
  conflicts: Counter<'workspace'>;
  merges: Counter<'workspace'>;
  problems: Counter<'code'>;
  rejectedRequests: Counter<'reason'>;
  pushReplays: Counter;
  chunksCollected: Counter;
  connectedAgents: Gauge;
  chunkStoreBytes: Gauge;
  prewarmAttempts: Counter<'ecosystem'>;
  prewarmHits: Counter<'ecosystem'>;
  snapshotUploads: Counter;
  snapshotDownloads: Counter;
}

/** Creates the hub's metrics; `chunkStoreBytes` and `connectedAgents` read live values on scrape. */
export function createServerMetrics(live: {
  chunkStoreBytes: () => number;
  connectedAgents: () => number;
}): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const bytesTotals = { in: 0, out: 0 };
  const syncBytes = new Counter({
    name: 'workspace_sync_bytes_total',
    help: 'Bytes of request and response bodies and live messages, by direction as the hub sees it.',
    labelNames: ['direction'],
    registers,
  });
  return {
    registry,
    bytesTotals,
    countBytes(direction, bytes) {
      bytesTotals[direction] += bytes;
      syncBytes.inc({ direction }, bytes);
    },
    syncBytes,
    syncDuration: new Histogram({
      name: 'workspace_sync_duration_seconds',
      help: 'Edit-to-peer time as the hub sees it: from a push arriving to each peer acknowledging it applied it.',
      labelNames: ['workspace'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    syncOperations: new Counter({
      name: 'workspace_sync_operations_total',
      help: 'Pushed path changes by result (accepted, unchanged, conflict, rejected).',
      labelNames: ['workspace', 'result'],
      registers,
    }),
    conflicts: new Counter({
      name: 'workspace_sync_conflicts_total',
      help: 'Concurrent edits settled by keeping a winner and a conflict copy (or modify over delete).',
      labelNames: ['workspace'],
      registers,
    }),
    merges: new Counter({
      name: 'workspace_sync_merges_total',
      help: 'Concurrent edits of a text file merged three ways (no conflict copy), as pushed by agents.',
      labelNames: ['workspace'],
      registers,
    }),
    problems: new Counter({
      name: 'warmsync_path_problems_total',
      help: 'Paths refused by the hub, by problem code (case-collision, invalid-path, ...).',
      labelNames: ['code'],
      registers,
    }),
    rejectedRequests: new Counter({
      name: 'warmsync_rejected_requests_total',
      help: 'Requests refused before reaching the store (malformed, too large, unauthorised).',
      labelNames: ['reason'],
      registers,
    }),
    chunksCollected: new Counter({
      name: 'warmsync_chunks_collected_total',
      help: 'Chunks removed by garbage collection: named by no live entry and no snapshot, unused for the grace period.',
      registers,
    }),
    pushReplays: new Counter({
      name: 'warmsync_push_replays_total',
      help: 'Pushes sent again under an id already committed (their answer was lost): answered from the record, not committed twice.',
      registers,
    }),
    connectedAgents: new Gauge({
      name: 'warmsync_connected_agents',
      help: 'Agents with an open live connection.',
      registers,
      collect() {
        this.set(live.connectedAgents());
      },
    }),
    chunkStoreBytes: new Gauge({
      name: 'warmsync_chunk_store_bytes',
      help: 'Bytes the content-addressed chunk store takes as stored (a compressed chunk counts its compressed size).',
      registers,
      collect() {
        this.set(live.chunkStoreBytes());
      },
    }),
    prewarmAttempts: new Counter({
      name: 'workspace_prewarm_attempts_total',
      help: 'Dependencies the pre-warmer tried to warm, by ecosystem.',
      labelNames: ['ecosystem'],
      registers,
    }),
    prewarmHits: new Counter({
      name: 'workspace_prewarm_hits_total',
      help: 'Dependencies needed by an install or a new import that were already warm, by ecosystem.',
      labelNames: ['ecosystem'],
      registers,
    }),
    snapshotUploads: new Counter({
      name: 'warmsync_snapshot_uploads_total',
      help: 'Dependency snapshot manifests stored (their chunks were already uploaded).',
      registers,
    }),
    snapshotDownloads: new Counter({
      name: 'warmsync_snapshot_downloads_total',
      help: 'Dependency snapshot manifests served to restoring agents.',
      registers,
    }),
  };
}
