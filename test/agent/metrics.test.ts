import { afterEach, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveAgentMetrics } from '../../src/agent/metrics-endpoint.ts';
import { createAgentMetrics } from '../../src/metrics/agent-metrics.ts';
import { cleanup, startAgent, startHub, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

it('serves the agent metrics on loopback, counting pushes, applied versions and bytes', async () => {
  const hub = startHub();
  let agentRef: { problems(): unknown[]; pendingCount(): number } | undefined;
  const metrics = createAgentMetrics({
    problems: () => agentRef?.problems().length ?? 0,
    pendingRemote: () => agentRef?.pendingCount() ?? 0,
  });
  const a = await startAgent(hub, { metrics });
  agentRef = a;
  const b = await startAgent(hub);
  const endpoint = serveAgentMetrics(metrics, 0);
  try {
    writeFileSync(join(a.tree.root, 'one.txt'), 'pushed by a');
    writeFileSync(join(b.tree.root, 'two.txt'), 'applied on a');
    await waitUntil(async () => {
      const text = await (await fetch(`${endpoint.url}/metrics`)).text();
      return (
        /warmsync_agent_pushed_total\{result="accepted"\} [1-9]/.test(text) &&
        /warmsync_agent_applied_total\{kind="file"\} [1-9]/.test(text)
      );
    }, 'the push and the applied file to be counted');
    const text = await (await fetch(`${endpoint.url}/metrics`)).text();
    expect(text).toMatch(/workspace_sync_bytes_total\{direction="out"\} [1-9]/);
    expect(text).toMatch(/warmsync_agent_problems 0/);
  } finally {
    endpoint.stop();
  }
});
