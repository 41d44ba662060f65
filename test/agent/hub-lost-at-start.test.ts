/**
 * A hub that answers the agent's first contact and goes away before the first sync is done (a
 * hub restarted while its agents start): the agent keeps running and syncs once it is back.
 */
import { afterEach, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { cleanup, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

it('an agent whose hub goes away during the first sync keeps running and syncs when it is back', async () => {
  const hub = startHub();
  // The first request for changes is the agent's first contact; the second is its catch-up.
  let asked = 0;
  const proxy = await startCuttingProxy(Number(new URL(hub.url).port), (data) =>
    data.includes('/changes?since=') && ++asked === 2 ? 'down' : 'pass',
  );
  const dir = tempDir();
  writeFileSync(join(dir, 'early.txt'), 'written before the agent started\n');
  const agent = await startAgent(proxy, { dir });
  expect(proxy.down).toBe(true);

  writeFileSync(join(dir, 'meanwhile.txt'), 'written while the hub was away\n');
  proxy.up();
  await waitUntil(async () => {
    const entries = (await hub.store.changesSince('test', 0, 100)).entries;
    return ['early.txt', 'meanwhile.txt'].every((p) => entries.some((e) => e.path === p));
  }, 'both files to reach the hub once it is back');
  await waitUntil(() => agent.pendingCount() === 0, 'the agent to settle');
}, 30_000);
