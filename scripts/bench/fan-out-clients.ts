#!/usr/bin/env bun
/**
 * Many live-protocol clients in one process, for the fan-out bench. Each opens its own WebSocket
 * with its own agent id, as `src/agent/client.ts` does, answers every notification with a cursor
 * message as an agent does, and timestamps the arrival of each notification.
 *
 * Usage: bun scripts/bench/fan-out-clients.ts warmsync|floor WS_URL[,WS_URL...] COUNT
 * With several URLs (hub replicas) the clients are spread over them in turn.
 * Prints `ready N` once every client is connected (warmsync: greeted by the hub), then for the
 * k-th notification, once every client has it:
 * `arrived k BYTES MIN P50 P95 MAX` (arrival times in epoch milliseconds).
 */
import { decodeEnvelope } from '../../src/core/frames.ts';
import { median, nowMs, percentile } from './lib/stats.ts';

const [mode, url, countText] = process.argv.slice(2);
const count = Number(countText);
if ((mode !== 'warmsync' && mode !== 'floor') || !url || !Number.isInteger(count) || count < 1) {
  console.error('usage: fan-out-clients.ts warmsync|floor WS_URL COUNT');
  process.exit(2);
}

/** Arrival times by notification key (the hub's `to` sequence, or the floor's counter). */
const arrivals = new Map<string, { at: number[]; bytes: number }>();
const order: string[] = [];
let reported = 0;
let ready = 0;
/** The `to` sequence of the k-th binary notification, decoded by the first client to get it. */
const decodedTo: number[] = [];

function arrived(key: string, bytes: number): void {
  let slot = arrivals.get(key);
  if (!slot) {
    slot = { at: [], bytes };
    arrivals.set(key, slot);
    order.push(key);
  }
  slot.at.push(nowMs());
  // Report in order of first arrival, each once every client has it.
  while (reported < order.length) {
    const next = arrivals.get(order[reported]!)!;
    if (next.at.length < count) break;
    reported++;
    const at = next.at;
    console.log(
      `arrived ${reported} ${next.bytes} ${Math.min(...at)} ${median(at)} ${percentile(at, 0.95)} ${Math.max(...at)}`,
    );
  }
}

const endpoints: string[] = url.split(',');
const token = process.env.WARMSYNC_BENCH_HUB_TOKEN || undefined;

function connect(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const endpoint = endpoints[i % endpoints.length]!;
    const target = mode === 'warmsync' ? `${endpoint}?agent=fa${i.toString(16).padStart(6, '0')}` : endpoint;
    // With a hub that asks a credential, the clients present the admin one (one credential per
    // client would bind each to its agent id: the same checks at connect, 1,000 tokens to make).
    const socket = token
      ? new WebSocket(target, { headers: { authorization: `Bearer ${token}` } } as unknown as string[])
      : new WebSocket(target);
    socket.binaryType = 'arraybuffer';
    let greeted = false;
    let received = 0;
    const greet = () => {
      if (greeted) return;
      greeted = true;
      ready++;
      resolve();
    };
    socket.onopen = () => {
      if (mode === 'floor') greet();
    };
    socket.onerror = () => reject(new Error(`client ${i}: connection error`));
    socket.onmessage = (event) => {
      const data = event.data as ArrayBuffer | string;
      if (mode === 'floor') {
        const bytes = new Uint8Array(data as ArrayBuffer);
        arrived(String(bytes[0]! | (bytes[1]! << 8)), bytes.length);
        return;
      }
      if (typeof data === 'string') {
        if ((JSON.parse(data) as { type?: string }).type === 'hello') greet();
        return;
      }
      // Every client gets the same broadcast bytes in the same order, so the k-th notification is
      // decoded once for all of them: decoding it 1,000 times in this one process would measure
      // this process, not the hub (each real agent decodes its own copy in its own process).
      const k = received++;
      let to = decodedTo[k];
      if (to === undefined) {
        const { header } = decodeEnvelope(new Uint8Array(data));
        const h = header as { type?: string; to?: number };
        if (h.type !== 'entries' || h.to === undefined) return;
        to = h.to;
        decodedTo[k] = to;
      }
      arrived(String(to), data.byteLength);
      socket.send(JSON.stringify({ type: 'cursor', cursor: to, pending: 0 }));
    };
  });
}

// Connect in batches so the accept queue is not flooded.
for (let i = 0; i < count; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => connect(i + j)));
}
console.log(`ready ${ready}`);
setInterval(() => {}, 1 << 30);
