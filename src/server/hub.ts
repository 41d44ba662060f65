/**
 * Live connections of agents, by workspace: fan-out of accepted changes, cursors, problems, and
 * the edit-to-peer timing that feeds `workspace_sync_duration_seconds`.
 */
import type { Problem } from '../core/protocol.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import type { BusDelivery, LiveBus } from './bus.ts';

/** The part of a WebSocket the hub needs; Bun's ServerWebSocket and test doubles both fit. */
export interface LiveSocket {
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}

export interface LiveAgent {
  workspace: string;
  agentId: string;
  socket: LiveSocket;
  cursor: number;
  pending: number;
  problems: Problem[];
  connectedAt: number;
}

interface CommitTiming {
  from: number;
  to: number;
  origin: string;
  receivedAt: number;
}

/** Commits older than this are no longer timed (a peer that slow is reported by its cursor). */
const TIMING_WINDOW_MS = 60_000;

export interface HubOptions {
  /** Fan-out across replicas; without it the hub serves its own agents only (embedded mode). */
  bus?: LiveBus;
  /** The workspace's head in the durable store, for the head check that makes up for lost bus messages. */
  head?: (workspace: string) => Promise<number>;
  /**
   * How often the head check runs (default 1000 ms when there is a bus; off without a bus unless
   * set, as for replicas sharing a store with no bus).
   */
  headCheckMs?: number;
}

export class Hub {
  private readonly agents = new Map<string, Set<LiveAgent>>();
  private readonly timings = new Map<string, CommitTiming[]>();
  /** The highest sequence this replica has told its agents about, per workspace. */
  private readonly knownHeads = new Map<string, number>();
  private readonly headTimer: ReturnType<typeof setInterval> | undefined;
  private checking = false;

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly options: HubOptions = {},
  ) {
    const bus = options.bus;
    bus?.onDelivery((delivery) => this.deliver(delivery));
    bus?.onReconnect(() => void this.checkHeads());
    if (!bus && options.headCheckMs === undefined) return;
    this.headTimer = setInterval(() => void this.checkHeads(), options.headCheckMs ?? 1000);
    this.headTimer.unref?.();
  }

  connect(workspace: string, agentId: string, socket: LiveSocket): LiveAgent {
    const agent: LiveAgent = {
      workspace,
      agentId,
      socket,
      cursor: 0,
      pending: 0,
      problems: [],
      connectedAt: Date.now(),
    };
    let set = this.agents.get(workspace);
    if (!set) {
      set = new Set();
      this.agents.set(workspace, set);
      this.options.bus?.subscribe(workspace);
    }
    set.add(agent);
    return agent;
  }

  disconnect(agent: LiveAgent): void {
    const set = this.agents.get(agent.workspace);
    if (!set?.delete(agent) || set.size > 0) return;
    this.agents.delete(agent.workspace);
    this.knownHeads.delete(agent.workspace);
    this.options.bus?.unsubscribe(agent.workspace);
  }

  /** Records a head this replica's agents have been told about (the hello on connect). */
  noteHead(workspace: string, head: number): void {
    if (!this.agents.has(workspace)) return;
    this.knownHeads.set(workspace, Math.max(head, this.knownHeads.get(workspace) ?? 0));
  }

  /**
   * Asks the workspace's other agents on this replica for chunks that `from` could not get: an
   * agent whose files still hold them uploads them again, which repairs a chunk lost on the hub.
   */
  relayWanted(from: LiveAgent, hashes: readonly string[]): void {
    if (hashes.length === 0) return;
    const message = JSON.stringify({ type: 'wanted', hashes });
    for (const agent of this.agents.get(from.workspace) ?? []) {
      if (agent !== from) agent.socket.send(message);
    }
  }

  /** Records a peer's progress and times every commit it has now applied for the first time. */
  updateCursor(agent: LiveAgent, cursor: number, pending: number): void {
    const now = performance.now();
    for (const t of this.timings.get(agent.workspace) ?? []) {
      if (t.origin !== agent.agentId && t.from > agent.cursor && t.to <= cursor) {
        this.metrics.syncDuration.observe({ workspace: agent.workspace }, (now - t.receivedAt) / 1000);
      }
    }
    agent.cursor = Math.max(agent.cursor, cursor);
    agent.pending = pending;
  }

  /**
   * Sends an encoded notification to every agent of the workspace, on this replica and (through
   * the bus) on the others, and starts timing it.
   */
  /**
   * Sends a notification to every agent of the workspace (and the other replicas). The agent that
   * pushed it gets `originMessage` when given: the same range without what it already has.
   */
  broadcast(
    workspace: string,
    message: Uint8Array<ArrayBuffer>,
    timing: CommitTiming,
    originMessage?: Uint8Array<ArrayBuffer>,
  ): void {
    this.options.bus?.publish(workspace, message, {
      from: timing.from,
      to: timing.to,
      origin: timing.origin,
      receivedAtWallMs: Date.now() - (performance.now() - timing.receivedAt),
    });
    this.sendLocal(workspace, message, timing, originMessage);
  }

  /** A notification another replica published: for this replica's agents only. */
  private deliver({ workspace, message, timing }: BusDelivery): void {
    if (!this.agents.has(workspace)) return;
    const receivedAt = performance.now() - (Date.now() - timing.receivedAtWallMs);
    if (message) this.sendLocal(workspace, message, { ...timing, receivedAt });
    else this.sendHello(workspace, timing.to);
  }

  /**
   * Makes up for bus messages this replica missed (Redis away, a publisher killed between commit
   * and publish): when the durable head of a workspace is past what its agents were told, they get
   * a hello with the new head, and an agent behind its cursor catches up from the store.
   */
  private async checkHeads(): Promise<void> {
    const head = this.options.head;
    if (!head || this.checking) return;
    this.checking = true;
    try {
      for (const workspace of [...this.agents.keys()]) {
        const now = await head(workspace).catch(() => undefined);
        const known = this.knownHeads.get(workspace) ?? 0;
        if (now !== undefined && now > known) this.sendHello(workspace, now);
      }
    } finally {
      this.checking = false;
    }
  }

  private sendHello(workspace: string, head: number): void {
    this.noteHead(workspace, head);
    const hello = JSON.stringify({ type: 'hello', head });
    for (const agent of this.agents.get(workspace) ?? []) {
      try {
        agent.socket.send(hello);
      } catch {
        // Closing socket: its agent catches up on reconnect.
      }
    }
  }

  private sendLocal(
    workspace: string,
    message: Uint8Array<ArrayBuffer>,
    timing: CommitTiming,
    originMessage?: Uint8Array<ArrayBuffer>,
  ): void {
    this.noteHead(workspace, timing.to);
    const list = this.timings.get(workspace) ?? [];
    const horizon = timing.receivedAt - TIMING_WINDOW_MS;
    const kept = list.filter((t) => t.receivedAt >= horizon);
    kept.push(timing);
    this.timings.set(workspace, kept);
    for (const agent of this.agents.get(workspace) ?? []) {
      const bytes = originMessage && agent.agentId === timing.origin ? originMessage : message;
      try {
        agent.socket.send(bytes);
        this.metrics.countBytes('out', bytes.length);
      } catch {
        // A socket that fails to send is closing; its agent catches up from its cursor on reconnect.
      }
    }
  }

  connected(): LiveAgent[] {
    return [...this.agents.values()].flatMap((set) => [...set]);
  }

  /** Stops the head check (the bus is closed by its owner). */
  close(): void {
    if (this.headTimer) clearInterval(this.headTimer);
  }

  count(): number {
    let n = 0;
    for (const set of this.agents.values()) n += set.size;
    return n;
  }
}
