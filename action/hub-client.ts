/**
 * The three hub requests a snapshot upload makes (src/prewarm/snapshot-upload.ts), with Node's
 * fetch. The agent's HubClient is not bundled here: it is built for Bun (its live socket, its TLS
 * options), and this file runs on the runner's Node. Every reply is parsed with the protocol
 * schemas before use.
 */
import type { z } from 'zod';
import { type ChunkFrame, encodeEnvelope } from '../src/core/frames.ts';
import {
  describeZodError,
  hubErrorSchema,
  missingResponseSchema,
  pushResponseSchema,
} from '../src/core/protocol.ts';
import type { SnapshotUploadClient } from '../src/prewarm/snapshot-upload.ts';

/** A request the hub refused or did not answer: one sentence for the log. */
export class HubRequestError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the hub could not be reached. */
    readonly status: number,
  ) {
    super(message);
    this.name = 'HubRequestError';
  }
}

/** Times a request the hub turned away as busy (429) is sent again, after its Retry-After. */
const BUSY_RETRIES = 5;

/**
 * A client for uploading snapshots to `serverUrl`'s `workspace`, with `token` as the bearer
 * credential when given.
 *
 * @example
 * const client = createSnapshotClient({ serverUrl: 'https://hub:7420', workspace: 'web', token });
 * await uploadSnapshot(client, { installRoot, lockfile, lockHash, npmCache });
 */
export function createSnapshotClient(options: {
  serverUrl: string;
  workspace: string;
  token: string | undefined;
}): SnapshotUploadClient {
  const base = options.serverUrl.replace(/\/+$/, '');
  const workspace = encodeURIComponent(options.workspace);

  async function send(method: 'POST' | 'PUT', path: string, body: string | Uint8Array, type: string) {
    const headers: Record<string, string> = { 'content-type': type };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    for (let busy = 0; ; busy++) {
      let reply: Response;
      try {
        reply = await fetch(`${base}${path}`, { method, headers, body: body as BodyInit });
      } catch (error) {
        const cause = (error as { cause?: { message?: string } }).cause?.message;
        throw new HubRequestError(
          `cannot reach the warmsync hub at ${base}: ${cause ?? (error as Error).message}`,
          0,
        );
      }
      if (reply.ok) return reply;
      if (reply.status === 429 && busy < BUSY_RETRIES) {
        const seconds = Number(reply.headers.get('retry-after'));
        const delay = Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) * 1000 : 1000;
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      throw new HubRequestError(await refusal(reply, path), reply.status);
    }
  }

  async function json<T extends z.ZodType>(reply: Response, path: string, schema: T): Promise<z.infer<T>> {
    let value: unknown;
    try {
      value = await reply.json();
    } catch {
      throw new HubRequestError(`the hub replied with something that is not JSON to ${path}`, reply.status);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new HubRequestError(
        `the hub's reply to ${path} is malformed: ${describeZodError(parsed.error)}`,
        reply.status,
      );
    return parsed.data;
  }

  return {
    async missing(hashes) {
      const path = '/v1/chunks/missing';
      const reply = await send('POST', path, JSON.stringify({ hashes }), 'application/json');
      return (await json(reply, path, missingResponseSchema)).missing;
    },
    async push(header, frames: readonly ChunkFrame[]) {
      const path = `/v1/workspaces/${workspace}/push`;
      const reply = await send('POST', path, encodeEnvelope(header, frames), 'application/octet-stream');
      return json(reply, path, pushResponseSchema);
    },
    async putSnapshot(lockHash, manifest) {
      const path = `/v1/workspaces/${workspace}/snapshots/${lockHash}`;
      await (await send('PUT', path, JSON.stringify(manifest), 'application/json')).body?.cancel();
    },
  };
}

/** The hub's own sentence for a refusal when it sent one, else the status line. */
async function refusal(reply: Response, path: string): Promise<string> {
  let said: string | undefined;
  try {
    const parsed = hubErrorSchema.safeParse(JSON.parse(await reply.text()));
    if (parsed.success) said = parsed.data.message;
  } catch {
    // Not JSON (a proxy's page): the status line says enough.
  }
  if (reply.status === 401)
    return `the warmsync hub refused the token (401${said ? `: ${said}` : ''}); pass a token for the workspace in the 'token' input`;
  return `the warmsync hub refused ${path}: ${reply.status} ${said ?? reply.statusText}`;
}
