/**
 * A loopback TCP proxy that lets requests reach the hub but can cut the connection the moment the
 * hub's answer starts coming back: the hub has done the work, the client never hears of it (a
 * lost HTTP response).
 */

import type { AddressInfo } from 'node:net';
import { connect, createServer, type Socket } from 'node:net';

export interface AnswerDropper {
  url: string;
  /** Cuts the next `count` connections on the first byte of their answer. */
  dropNextAnswers(count: number): void;
  /** Answers cut so far. */
  readonly dropped: number;
  close(): Promise<void>;
}

export async function startAnswerDropper(targetPort: number): Promise<AnswerDropper> {
  let toDrop = 0;
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    const cut = toDrop > 0;
    if (cut) toDrop--;
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (data: Buffer) => upstream.write(data));
    upstream.on('data', (data: Buffer) => {
      if (cut) {
        dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(data);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dropNextAnswers(count) {
      toDrop = count;
    },
    get dropped() {
      return dropped;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
