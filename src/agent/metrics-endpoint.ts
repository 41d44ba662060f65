/** Serves an agent's Prometheus metrics on a loopback port: scrapers on the same machine only. */
import type { AgentMetrics } from '../metrics/agent-metrics.ts';

export interface MetricsEndpoint {
  url: string;
  stop(): void;
}

export function serveAgentMetrics(metrics: AgentMetrics, port: number, host = '127.0.0.1'): MetricsEndpoint {
  const server = Bun.serve({
    hostname: host,
    port,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === '/metrics') {
        return new Response(await metrics.registry.metrics(), {
          headers: { 'content-type': metrics.registry.contentType },
        });
      }
      if (path === '/healthz') return Response.json({ ok: true });
      return new Response('not found', { status: 404 });
    },
  });
  return { url: `http://${host}:${server.port}`, stop: () => void server.stop(true) };
}
