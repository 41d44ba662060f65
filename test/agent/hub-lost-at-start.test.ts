/**
 * A hub that answers the agent's first contact and goes away before the first sync is done (a
 * hub restarted while its agents start): the agent keeps running and syncs once it is back.
 */
import { afterEach, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { cleanup, onCleanup, startAgent, startHub, tempDir, waitUntil } from '../helpers/harness.ts';

afterEach(cleanup);

/**
 * A loopback proxy to `port` that goes down (every connection cut, new ones refused) when the
 * `count`-th request for `marker` arrives, and up again for good on `up()`.
 */
async function proxyDownAt(port: number, marker: string, count: number) {
  let seen = 0;
  let down = false;
  let tripped = false;
  const sockets = new Set<Socket>();
  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port });
    sockets.add(client).add(upstream);
    client.on('data', (data: Buffer) => {
      seen += data.toString('latin1').split(marker).length - 1;
      if (!tripped && seen >= count) {
        tripped = true;
        down = true;
        cutAll();
        return;
      }
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => client.write(data));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) s.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get down() {
      return down;
    },
    up() {
      down = false;
    },
  };
}

it('an agent whose hub goes away during the first sync keeps running and syncs when it is back', async () => {
  const hub = startHub();
  // The first request is the agent's first contact; the second is its catch-up.
  const proxy = await proxyDownAt(Number(new URL(hub.url).port), '/changes?since=', 2);
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
