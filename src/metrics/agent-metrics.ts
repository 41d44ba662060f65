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
  };
}
