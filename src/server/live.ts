/**
 * The live WebSocket (`GET /v1/workspaces/:ws/live?agent=ID`): the hub tells each connected agent
 * about every accepted change, and the agent reports its cursor and its problems. Mounted by
 * `createServer` after the Host, Origin and credential checks, which apply to the upgrade too.
 */
import type { ServerWebSocket } from 'bun';
import type { Hono } from 'hono';
import { upgradeWebSocket } from 'hono/bun';
import {
  agentIdSchema,
  agentMessageSchema,
  describeZodError,
  safeParseUntrusted,
  workspaceNameSchema,
} from '../core/protocol.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import type { Hub, LiveAgent, LiveSocket } from './hub.ts';

export interface LiveRouteDeps {
  hub: Hub;
  metrics: ServerMetrics;
  /** The workspace's head and epoch, from the durable store. */
  stateOf: (workspace: string) => Promise<{ head: number; epoch: string }>;
  log?: (line: string) => void;
}

/**
 * How long a closed socket may take to flush its close frame before it is cut: a reader that
 * stopped reading would otherwise keep it (and its buffer) open until the idle timeout.
 */
const CLOSE_GRACE_MS = 10_000;

/** Adds the live route to `app`. */
export function mountLiveRoute(app: Hono, deps: LiveRouteDeps): void {
  const { hub, stateOf, log } = deps;
  const badRequest = (message: string) => {
    deps.metrics.rejectedRequests.inc({ reason: 'malformed' });
    return Response.json({ error: 'bad-request', message }, { status: 400 });
  };
  app.get(
    '/v1/workspaces/:ws/live',
    async (c, next) => {
      if (!workspaceNameSchema.safeParse(c.req.param('ws')).success)
        return badRequest('invalid workspace name');
      if (!agentIdSchema.safeParse(c.req.query('agent')).success)
        return badRequest('agent query parameter is missing or invalid');
      await next();
    },
    upgradeWebSocket((c) => {
      const workspace = c.req.param('ws') ?? '';
      const agentId = c.req.query('agent') ?? '';
      let agent: LiveAgent | undefined;
      return {
        async onOpen(_event, socket) {
          agent = hub.connect(workspace, agentId, liveSocket(socket.raw as ServerWebSocket<unknown>));
          let head: number;
          let epoch: string;
          try {
            ({ head, epoch } = await stateOf(workspace));
          } catch (error) {
            // The durable store is away: the agent retries with its usual back-off.
            log?.(`agent ${agentId} turned away: ${(error as Error).message}`);
            socket.close(1013, 'the hub cannot reach its store; try again later');
            return;
          }
          socket.send(JSON.stringify({ type: 'hello', head, epoch }));
          hub.noteHead(workspace, head);
          log?.(`agent ${agentId} connected to workspace ${workspace}`);
        },
        onMessage(event, socket) {
          if (!agent) return;
          let value: unknown;
          try {
            value = JSON.parse(
              typeof event.data === 'string'
                ? event.data
                : new TextDecoder().decode(event.data as ArrayBuffer),
            );
          } catch {
            value = undefined;
          }
          const message = safeParseUntrusted(agentMessageSchema, value);
          if (!message.success) {
            deps.metrics.rejectedRequests.inc({ reason: 'malformed' });
            socket.send(
              JSON.stringify({
                type: 'error',
                message: `malformed message: ${describeZodError(message.error)}`,
              }),
            );
            return;
          }
          switch (message.data.type) {
            case 'cursor':
              hub.updateCursor(agent, message.data.cursor, message.data.pending);
              break;
            case 'problems':
              agent.problems = message.data.problems;
              break;
            case 'wanted':
              hub.relayWanted(agent, message.data.hashes);
              break;
          }
        },
        onClose() {
          if (agent) {
            hub.disconnect(agent);
            log?.(`agent ${agentId} disconnected from workspace ${workspace}`);
          }
        },
      };
    }),
  );
}

/** Bun's socket as the hub sees it. */
function liveSocket(raw: ServerWebSocket<unknown>): LiveSocket {
  return {
    // Bun returns 0 for a dropped message, -1 for one queued under backpressure, else bytes sent.
    send: (data) => raw.send(data) !== 0,
    buffered: () => raw.getBufferedAmount(),
    close: (code, reason) => {
      raw.close(code, reason);
      setTimeout(() => {
        if (raw.readyState !== WebSocket.CLOSED) raw.terminate();
      }, CLOSE_GRACE_MS).unref();
    },
  };
}
