/**
 * The agent's control socket: a Unix socket in its state folder (mode 0600) speaking
 * newline-delimited JSON, one request and one answer per connection (see control-protocol.ts).
 * This file is the transport only; what a request does is the handler's business.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import {
  CONTROL_LINE_MAX,
  type ControlAnswer,
  type ControlRequest,
  controlRequestSchema,
} from '../core/control-protocol.ts';
import { describeZodError } from '../core/protocol.ts';

export interface ControlSocket {
  path: string;
  close(): void;
}

/**
 * Listens on `path`. Invariant relied on: the caller holds the state folder's lock (AgentState),
 * so a socket file already there belongs to no running agent (one killed without cleaning up)
 * and is replaced.
 */
export async function serveControl(
  path: string,
  handle: (request: ControlRequest) => Promise<ControlAnswer>,
): Promise<ControlSocket> {
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    let buffer = '';
    let answered = false;
    const answer = (reply: ControlAnswer) => {
      if (answered) return;
      answered = true;
      socket.end(`${JSON.stringify(reply)}\n`);
    };
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (part: string) => {
      if (answered) return;
      buffer += part;
      const end = buffer.indexOf('\n');
      if (end < 0) {
        if (buffer.length > CONTROL_LINE_MAX)
          answer({ type: 'error', code: 'bad-request', message: 'request line too long' });
        return;
      }
      const request = parseRequest(buffer.slice(0, end));
      if ('error' in request) {
        answer({ type: 'error', code: 'bad-request', message: request.error });
        return;
      }
      handle(request.ok).then(answer, (error: unknown) =>
        answer({ type: 'error', code: 'internal', message: (error as Error).message ?? String(error) }),
      );
    });
  });
  await listen(server, path);
  // Only the agent's own user may steer it: the socket can flush, pause and let deletions go.
  chmodSync(path, 0o600);
  return {
    path,
    close() {
      server.close();
      rmSync(path, { force: true });
    },
  };
}

function parseRequest(line: string): { ok: ControlRequest } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { error: 'the request is not JSON' };
  }
  const parsed = controlRequestSchema.safeParse(json);
  return parsed.success ? { ok: parsed.data } : { error: `bad request: ${describeZodError(parsed.error)}` };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
