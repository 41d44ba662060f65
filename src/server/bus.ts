/**
 * Cross-replica fan-out. After a commit, the replica that took the push publishes the live
 * notification on its workspace's channel; every other replica with agents of that workspace
 * forwards it to its own sockets. Redis pub/sub carries it: at most once, so a message lost while
 * Redis is away is made good by the hub's head check (see Hub), never relied upon for safety.
 *
 * Large notifications (bulk pushes) are not copied through Redis: the message then carries only
 * the sequence range, and the receiving replica tells its agents the new head so they read the
 * entries from the durable store themselves.
 */
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-connect.ts';
import type { ServiceState } from './store/unavailable.ts';

/** When a commit was received, for the edit-to-peer histogram, in a form valid across processes. */
export interface BusTiming {
  from: number;
  to: number;
  origin: string;
  /** Wall-clock milliseconds when the push arrived at the replica that took it. */
  receivedAtWallMs: number;
}

export interface BusDelivery {
  workspace: string;
  timing: BusTiming;
  /** The encoded live envelope, or undefined when only the range travelled. */
  message: Uint8Array<ArrayBuffer> | undefined;
}

/** What the Hub needs from a bus; Redis is the one implementation, tests may bring another. */
export interface LiveBus {
  publish(workspace: string, message: Uint8Array<ArrayBuffer>, timing: BusTiming): void;
  subscribe(workspace: string): void;
  unsubscribe(workspace: string): void;
  onDelivery(handler: (delivery: BusDelivery) => void): void;
  /** Called after the bus came back from an outage (messages may have been missed meanwhile). */
  onReconnect(handler: () => void): void;
  state(): ServiceState;
  close(): Promise<void>;
}

/** Envelopes above this travel as a range only (Redis buffers whole messages per subscriber). */
const MAX_BUS_MESSAGE_BYTES = 1024 * 1024;
const CHANNEL_PREFIX = 'warmsync:live:';

interface BusMeta extends BusTiming {
  replica: string;
  rangeOnly: boolean;
}

/**
 * Redis pub/sub bus. `publisher` is a normal connection (shared with the cache); subscribing needs
 * a connection of its own, duplicated from it, which resubscribes by itself after a reconnect.
 *
 * @example
 * const bus = new RedisBus(new Redis(url));
 * const sync = createServer({ store, chunks, metrics, bus });
 */
export class RedisBus implements LiveBus {
  /** Tells this replica's own messages apart: it already delivered them locally. */
  private readonly replica = randomBytes(8).toString('hex');
  private readonly subscriber: RedisClient;
  private readonly deliveries: Array<(d: BusDelivery) => void> = [];
  private readonly reconnects: Array<() => void> = [];
  private everReady = false;
  private lost = false;

  constructor(
    private readonly publisher: RedisClient,
    log?: (line: string) => void,
  ) {
    // Subscriptions asked for while Redis is away wait for it, however long that takes. A cluster's
    // client subscribes through one node and moves its subscriptions when that node fails.
    this.subscriber =
      publisher instanceof Cluster
        ? publisher.duplicate([], { enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: null } })
        : publisher.duplicate({
            enableOfflineQueue: true,
            maxRetriesPerRequest: null,
            autoResubscribe: true,
          });
    this.subscriber.on('error', () => {
      // Reported through state() and the reconnect below; ioredis keeps retrying.
    });
    this.subscriber.on('close', () => {
      if (this.everReady && !this.lost)
        log?.('redis bus: connection lost; live changes from other replicas wait');
      this.lost = this.everReady;
    });
    this.subscriber.on('ready', () => {
      if (this.everReady && this.lost) {
        log?.('redis bus: connection back');
        for (const handler of this.reconnects) handler();
      }
      this.everReady = true;
      this.lost = false;
    });
    this.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
      const delivery = this.decode(channel.toString(), payload);
      if (delivery) for (const handler of this.deliveries) handler(delivery);
    });
  }

  publish(workspace: string, message: Uint8Array<ArrayBuffer>, timing: BusTiming): void {
    const rangeOnly = message.length > MAX_BUS_MESSAGE_BYTES;
    const meta: BusMeta = { ...timing, replica: this.replica, rangeOnly };
    const metaBytes = Buffer.from(JSON.stringify(meta));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(metaBytes.length);
    const payload = Buffer.concat(rangeOnly ? [length, metaBytes] : [length, metaBytes, message]);
    // At most once: a failed publish is made good by the other replicas' head checks.
    this.publisher.publish(CHANNEL_PREFIX + workspace, payload).catch(() => {});
  }

  subscribe(workspace: string): void {
    this.subscriber.subscribe(CHANNEL_PREFIX + workspace).catch(() => {});
  }

  unsubscribe(workspace: string): void {
    this.subscriber.unsubscribe(CHANNEL_PREFIX + workspace).catch(() => {});
  }

  onDelivery(handler: (delivery: BusDelivery) => void): void {
    this.deliveries.push(handler);
  }

  onReconnect(handler: () => void): void {
    this.reconnects.push(handler);
  }

  state(): ServiceState {
    return this.subscriber.status === 'ready' ? 'up' : 'down';
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
  }

  private decode(channel: string, payload: Buffer): BusDelivery | undefined {
    if (!channel.startsWith(CHANNEL_PREFIX) || payload.length < 4) return undefined;
    const metaLength = payload.readUInt32BE(0);
    let meta: BusMeta;
    try {
      meta = JSON.parse(payload.subarray(4, 4 + metaLength).toString()) as BusMeta;
    } catch {
      return undefined;
    }
    if (meta.replica === this.replica) return undefined;
    const rest = payload.subarray(4 + metaLength);
    return {
      workspace: channel.slice(CHANNEL_PREFIX.length),
      timing: { from: meta.from, to: meta.to, origin: meta.origin, receivedAtWallMs: meta.receivedAtWallMs },
      message: meta.rangeOnly ? undefined : new Uint8Array(rest),
    };
  }
}
