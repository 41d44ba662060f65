/**
 * Live connections of agents, by workspace: fan-out of accepted changes, cursors, problems, and
 * the edit-to-peer timing that feeds `workspace_sync_duration_seconds`.
 */
import type { Problem } from '../core/protocol.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';

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

export class Hub {
  private readonly agents = new Map<string, Set<LiveAgent>>();
  private readonly timings = new Map<string, CommitTiming[]>();

  constructor(private readonly metrics: ServerMetrics) {}

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
    }
    set.add(agent);
    return agent;
  }

  disconnect(agent: LiveAgent): void {
    this.agents.get(agent.workspace)?.delete(agent);
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

  /** Sends an encoded notification to every agent of the workspace and starts timing it. */
  broadcast(workspace: string, message: Uint8Array<ArrayBuffer>, timing: CommitTiming): void {
    const list = this.timings.get(workspace) ?? [];
    const horizon = timing.receivedAt - TIMING_WINDOW_MS;
    const kept = list.filter((t) => t.receivedAt >= horizon);
    kept.push(timing);
    this.timings.set(workspace, kept);
    for (const agent of this.agents.get(workspace) ?? []) {
      try {
        agent.socket.send(message);
        this.metrics.countBytes('out', message.length);
      } catch {
        // A socket that fails to send is closing; its agent catches up from its cursor on reconnect.
      }
    }
  }

  connected(): LiveAgent[] {
    return [...this.agents.values()].flatMap((set) => [...set]);
  }

  count(): number {
    let n = 0;
    for (const set of this.agents.values()) n += set.size;
    return n;
  }
}
