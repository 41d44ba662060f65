/**
 * The agent's metrics, served on a loopback port (`warmsync agent --metrics-port`). Same naming
 * as the hub's, seen from the agent's side.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface AgentMetrics {
  registry: Registry;
  pushed: Counter<'result'>;
  applied: Counter<'kind'>;
  bytes: Counter<'direction'>;
  pushDuration: Histogram;
  applyDuration: Histogram;
  conflicts: Counter;
  problems: Gauge;
  pendingRemote: Gauge;
  prewarmAttempts: Counter<'ecosystem'>;
  prewarmHits: Counter<'ecosystem'>;
  prewarmFailures: Counter<'stage'>;
  snapshotRestores: Counter<'result'>;
  snapshotRestoreDuration: Histogram;
}

export function createAgentMetrics(live: {
  problems: () => number;
  pendingRemote: () => number;
}): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  const buckets = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    pushed: new Counter({
      name: 'warmsync_agent_pushed_total',
      help: 'Local changes pushed, by hub result.',
      labelNames: ['result'],
      registers,
    }),
    applied: new Counter({
      name: 'warmsync_agent_applied_total',
      help: 'Remote versions written to disk, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    bytes: new Counter({
      name: 'workspace_sync_bytes_total',
      help: 'Bytes exchanged with the hub, by direction as the agent sees it.',
      labelNames: ['direction'],
      registers,
    }),
    pushDuration: new Histogram({
      name: 'warmsync_agent_push_duration_seconds',
      help: 'Time to push one batch, from observing it to the hub answering.',
      buckets,
      registers,
    }),
    applyDuration: new Histogram({
      name: 'warmsync_agent_apply_duration_seconds',
      help: 'Time to apply one batch of remote versions.',
      buckets,
      registers,
    }),
    conflicts: new Counter({
      name: 'workspace_sync_conflicts_total',
      help: 'Pushes of this agent that the hub settled as conflicts.',
      registers,
    }),
    problems: new Gauge({
      name: 'warmsync_agent_problems',
      help: 'Paths that currently cannot sync (case collisions, unreadable files, refused writes).',
      registers,
      collect() {
        this.set(live.problems());
      },
    }),
    pendingRemote: new Gauge({
      name: 'warmsync_agent_pending_remote',
      help: 'Remote versions announced but not yet on disk.',
      registers,
      collect() {
        this.set(live.pendingRemote());
      },
    }),
    prewarmAttempts: new Counter({
      name: 'workspace_prewarm_attempts_total',
      help: 'Dependencies the pre-warmer tried to warm into the shared cache, by ecosystem.',
      labelNames: ['ecosystem'],
      registers,
    }),
    prewarmHits: new Counter({
      name: 'workspace_prewarm_hits_total',
      help: 'Dependencies the pre-warmer left verified in the shared cache, by ecosystem.',
      labelNames: ['ecosystem'],
      registers,
    }),
    prewarmFailures: new Counter({
      name: 'warmsync_prewarm_failures_total',
      help: 'Background pre-warm work that failed (scan, warm, restore, install), by stage.',
      labelNames: ['stage'],
      registers,
    }),
    snapshotRestores: new Counter({
      name: 'warmsync_snapshot_restores_total',
      help: 'Dependency snapshot restores, by result (restored, no-snapshot, refused, failed).',
      labelNames: ['result'],
      registers,
    }),
    snapshotRestoreDuration: new Histogram({
      name: 'warmsync_snapshot_restore_duration_seconds',
      help: 'Time to restore node_modules from a snapshot, from asking the hub to the rename.',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    }),
  };
}
