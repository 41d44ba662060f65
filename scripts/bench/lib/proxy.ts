/**
 * A byte-counting TCP proxy on loopback. The agents talk to the hub through it, so the bytes on
 * the wire (HTTP headers, WebSocket framing, everything) are counted outside the program under
 * test rather than taken from its own counters.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ByteProxy {
  url: string;
  /** Bytes from clients to the target, and from the target back to clients. */
  readonly counts: { up: number; down: number };
  total(): number;
  /** Milliseconds since the last byte crossed in either direction. */
  quietForMs(): number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (free port) and forwards every connection to `targetPort`. */
export async function startProxy(targetPort: number): Promise<ByteProxy> {
  const counts = { up: 0, down: 0 };
  let lastByteAt = performance.now();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (data: Buffer) => {
      counts.up += data.length;
      lastByteAt = performance.now();
      if (!upstream.write(data)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (data: Buffer) => {
      counts.down += data.length;
      lastByteAt = performance.now();
      if (!client.write(data)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
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
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    counts,
    total: () => counts.up + counts.down,
    quietForMs: () => performance.now() - lastByteAt,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
