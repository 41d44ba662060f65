#!/usr/bin/env bun
/**
 * The fan-out floor: a bare Bun WebSocket server that relays each POSTed body to every connected
 * socket. It is what fan-out costs with no sync logic at all, on the same runtime and transport.
 *
 * Usage: bun scripts/bench/fan-out-floor.ts   (prints `listening PORT`)
 */
import type { ServerWebSocket } from 'bun';

const sockets = new Set<ServerWebSocket<unknown>>();
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req, srv) {
    if (req.method === 'POST') {
      const body = new Uint8Array(await req.arrayBuffer());
      for (const s of sockets) s.send(body);
      return new Response('ok');
    }
    if (srv.upgrade(req)) return undefined;
    return new Response('upgrade expected', { status: 400 });
  },
  websocket: {
    open: (ws) => {
      sockets.add(ws);
    },
    close: (ws) => {
      sockets.delete(ws);
    },
    message: () => {},
  },
});
console.log(`listening ${server.port}`);
