/**
 * A loopback TCP proxy in front of a hub that cuts chosen requests: `rule` sees each piece of
 * data a client sends and answers 'pass', 'cut' (that connection is closed, nothing forwarded),
 * 'down' (every connection is closed and new ones refused, as a hub gone away, until `up()`), or
 * 'down-on-answer' (forwarded, and the proxy goes down as the hub's answer starts: the hub did
 * the work and went away before anyone heard of it).
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { onCleanup } from './harness.ts';

export type CutRule = (data: string) => 'pass' | 'cut' | 'down' | 'down-on-answer';

export interface CuttingProxy {
  url: string;
  readonly down: boolean;
  /** Forwards again; `rule` still applies. */
  up(): void;
}

export async function startCuttingProxy(port: number, rule: CutRule): Promise<CuttingProxy> {
  let down = false;
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
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) s.on('close', end).on('error', end);
    let downOnAnswer = false;
    const goDown = () => {
      down = true;
      cutAll();
    };
    client.on('data', (data: Buffer) => {
      const verdict = rule(data.toString('latin1'));
      if (verdict === 'down') goDown();
      else if (verdict === 'cut') end();
      else {
        if (verdict === 'down-on-answer') downOnAnswer = true;
        upstream.write(data);
      }
    });
    upstream.on('data', (data: Buffer) => (downOnAnswer ? goDown() : client.write(data)));
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
