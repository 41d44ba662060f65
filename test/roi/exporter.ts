import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What one scrape adds to the counters, so that a test can state the exact ratios it expects. */
export const PER_SCRAPE = {
  operations: 100,
  conflicts: 2,
  prewarmAttempts: 10,
  prewarmHits: 8,
  bytesIn: 1000,
  bytesOut: 500,
  /** 90 syncs of 5 ms and 10 of 50 ms: the p95 falls in the (25 ms, 50 ms] bucket at 37.5 ms. */
  fastSyncs: { count: 90, seconds: 0.005 },
  slowSyncs: { count: 10, seconds: 0.05 },
};

/** A loopback HTTP server that serves warmsync's metric names in Prometheus text format. */
export interface FakeExporter {
  port: number;
  scrapes(): number;
  stop(): Promise<void>;
}

/**
 * Starts the exporter. The first scrape sees every counter at zero and each scrape then adds
 * {@link PER_SCRAPE}, so that Prometheus records real increases (a counter that never moves has an
 * increase of 0, whatever its value).
 */
export function startFakeExporter(): FakeExporter {
  const registry = new Registry();
  const registers = [registry];
  const duration = new Histogram({
    name: 'workspace_sync_duration_seconds',
    help: 'Duration of sync operations.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const bytes = new Counter({
    name: 'workspace_sync_bytes_total',
    help: 'Bytes moved by sync.',
    labelNames: ['direction'],
    registers,
  });
  const conflicts = new Counter({ name: 'workspace_sync_conflicts_total', help: 'Conflicts.', registers });
  const operations = new Counter({ name: 'workspace_sync_operations_total', help: 'Sync ops.', registers });
  const attempts = new Counter({
    name: 'workspace_prewarm_attempts_total',
    help: 'Pre-warm attempts.',
    labelNames: ['ecosystem'],
    registers,
  });
  const hits = new Counter({
    name: 'workspace_prewarm_hits_total',
    help: 'Pre-warm hits.',
    labelNames: ['ecosystem'],
    registers,
  });
  new Gauge({ name: 'warmsync_connected_agents', help: 'Agents.', registers }).set(3);
  new Gauge({ name: 'warmsync_chunk_store_bytes', help: 'Chunk store size.', registers }).set(1 << 20);
  // Create the labelled series at zero, so the first scrape records their starting point.
  bytes.inc({ direction: 'in' }, 0);
  bytes.inc({ direction: 'out' }, 0);
  attempts.inc({ ecosystem: 'npm' }, 0);
  hits.inc({ ecosystem: 'npm' }, 0);

  let scrapes = 0;
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      if (new URL(request.url).pathname !== '/metrics') return new Response('not found', { status: 404 });
      const body = await registry.metrics();
      scrapes += 1;
      operations.inc(PER_SCRAPE.operations);
      conflicts.inc(PER_SCRAPE.conflicts);
      attempts.inc({ ecosystem: 'npm' }, PER_SCRAPE.prewarmAttempts);
      hits.inc({ ecosystem: 'npm' }, PER_SCRAPE.prewarmHits);
      bytes.inc({ direction: 'in' }, PER_SCRAPE.bytesIn);
      bytes.inc({ direction: 'out' }, PER_SCRAPE.bytesOut);
      for (const { count, seconds } of [PER_SCRAPE.fastSyncs, PER_SCRAPE.slowSyncs]) {
        for (let i = 0; i < count; i += 1) duration.observe(seconds);
      }
      return new Response(body, { headers: { 'content-type': registry.contentType } });
    },
  });
  return {
    port: server.port ?? 0,
    scrapes: () => scrapes,
    stop: () => server.stop(true),
  };
}
