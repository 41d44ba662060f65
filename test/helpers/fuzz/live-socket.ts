/**
 * A live socket for the protocol fuzzer: it sends agent messages and predicts, with the same
 * schema the hub uses, what the hub must do with each (answer an error, relay `wanted`, record a
 * cursor or problems), and it checks every notification it gets the way an agent reads them.
 */
import { decodeEnvelope } from '../../../src/core/frames.ts';
import {
  type AgentMessage,
  agentMessageSchema,
  liveHeaderSchema,
  type Problem,
  safeParseUntrusted,
} from '../../../src/core/protocol.ts';

/** What the hub should hold for this agent after the messages sent so far. */
export interface LiveExpectation {
  errors: number;
  /** `wanted` messages with hashes: relayed to each other agent of the workspace. */
  relayedOut: number;
  cursor: number;
  pending: number;
  problems: Problem[];
}

/** The hub's reading of a message: JSON text (binary decoded as UTF-8), then the schema. */
export function predictLive(data: string | Uint8Array): AgentMessage | undefined {
  // The client sends text as UTF-8, which replaces lone surrogates, and the hub takes it as it
  // comes (a leading BOM too); it decodes binary as UTF-8, which drops a leading BOM.
  const text =
    typeof data === 'string'
      ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(data))
      : new TextDecoder().decode(data);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = safeParseUntrusted(agentMessageSchema, value);
  return parsed.success ? parsed.data : undefined;
}

export class FuzzSocket {
  readonly socket: WebSocket;
  readonly opened: Promise<boolean>;
  readonly expect: LiveExpectation = { errors: 0, relayedOut: 0, cursor: 0, pending: 0, problems: [] };
  errors = 0;
  wanted = 0;
  notifications = 0;
  closed: { code: number; reason: string } | undefined;
  /** Notifications an agent could not read: a live poison pill. */
  readonly unreadable: string[] = [];

  constructor(
    url: string,
    readonly agentId: string,
    headers: Record<string, string>,
  ) {
    this.socket = new WebSocket(url, { headers } as unknown as string[]);
    this.socket.binaryType = 'arraybuffer';
    this.opened = new Promise((resolve) => {
      this.socket.onopen = () => resolve(true);
      this.socket.onerror = () => resolve(false);
    });
    this.socket.onclose = (event) => {
      this.closed = { code: event.code, reason: event.reason };
    };
    this.socket.onmessage = (event) => this.receive(event.data as string | ArrayBuffer);
  }

  private receive(data: string | ArrayBuffer): void {
    if (typeof data !== 'string') {
      this.notifications += 1;
      try {
        const { header } = decodeEnvelope(new Uint8Array(data));
        const parsed = liveHeaderSchema.safeParse(header);
        if (!parsed.success) this.unreadable.push(parsed.error.message.slice(0, 300));
      } catch (error) {
        this.unreadable.push(String(error));
      }
      return;
    }
    const message = JSON.parse(data) as { type: string };
    if (message.type === 'error') this.errors += 1;
    else if (message.type === 'wanted') this.wanted += 1;
    else if (message.type !== 'hello') this.unreadable.push(`unexpected text message ${data.slice(0, 100)}`);
  }

  /** Sends one message and records what the hub must make of it, which it returns. */
  send(data: string | Uint8Array<ArrayBuffer>): AgentMessage | undefined {
    const message = predictLive(data);
    this.socket.send(data);
    if (!message) {
      this.expect.errors += 1;
      return undefined;
    }
    switch (message.type) {
      case 'cursor':
        this.expect.cursor = Math.max(this.expect.cursor, message.cursor);
        this.expect.pending = message.pending;
        break;
      case 'problems':
        this.expect.problems = message.problems;
        break;
      case 'wanted':
        if (message.hashes.length > 0) this.expect.relayedOut += 1;
        break;
    }
    return message;
  }

  /** Waits while the client holds more than `bytes` unsent. */
  async drain(bytes = 1024 * 1024): Promise<void> {
    while (this.socket.bufferedAmount > bytes && this.socket.readyState === WebSocket.OPEN)
      await new Promise((r) => setTimeout(r, 2));
  }
}
