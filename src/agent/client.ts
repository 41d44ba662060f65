/**
 * The agent's side of the protocol: HTTP requests for pushes, catch-up and chunk fetches, and the
 * live WebSocket. Every reply is validated with the protocol schemas before use.
 */
import type { z } from 'zod';
import { type ChunkFrame, decodeEnvelope, encodeEnvelope } from '../core/frames.ts';
import {
  type ChangesResponse,
  changesResponseSchema,
  describeZodError,
  type LiveHeader,
  liveHeaderSchema,
  type PushHeader,
  type PushResponse,
  pushResponseSchema,
} from '../core/protocol.ts';

export class HubError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the hub could not be reached. */
    readonly status: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export interface HubClientOptions {
  /**
   * The hub's URL, or several replicas' URLs separated by commas: on a connection error the client
   * moves to the next one (and the agent resumes from its cursor there).
   */
  server: string;
  workspace: string;
  token?: string;
  agentId: string;
  /** Counts bytes crossing the connection, for progress and metrics. */
  onBytes?: (direction: 'in' | 'out', bytes: number) => void;
}

/** Splits a `--server` value into replica URLs (comma-separated, trailing slashes dropped). */
export function serverUrls(server: string): string[] {
  return server
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter((url) => url.length > 0);
}

export class HubClient {
  private readonly bases: string[];
  /** Index of the replica in use; every request and the live socket go there until it fails. */
  private current = 0;

  constructor(private readonly options: HubClientOptions) {
    this.bases = serverUrls(options.server);
    if (this.bases.length === 0) throw new HubError('no hub URL given', 0);
  }

  private get base(): string {
    return this.bases[this.current]!;
  }

  /** Moves to the next replica, unless another failure already moved on from `from`. */
  private failover(from: number): void {
    if (this.current === from) this.current = (from + 1) % this.bases.length;
  }

  async push(header: PushHeader, frames: readonly ChunkFrame[]): Promise<PushResponse> {
    const body = encodeEnvelope(header, frames);
    return this.request(
      `/v1/workspaces/${this.options.workspace}/push`,
      body,
      'application/octet-stream',
      pushResponseSchema,
    );
  }

  async changes(since: number): Promise<ChangesResponse> {
    return this.request(
      `/v1/workspaces/${this.options.workspace}/changes?since=${since}`,
      undefined,
      undefined,
      changesResponseSchema,
    );
  }

  async missing(hashes: string[]): Promise<string[]> {
    const body = JSON.stringify({ hashes });
    const reply = await this.raw('/v1/chunks/missing', body, 'application/json');
    const json = (await reply.json()) as { missing?: unknown };
    if (!Array.isArray(json.missing)) throw new HubError('malformed reply to chunks/missing', reply.status);
    return json.missing.filter((h): h is string => typeof h === 'string');
  }

  /** Fetches chunks; the reply's frames are still to be opened and verified by the caller. */
  async fetchChunks(
    want: Array<{ hash: string; base?: string }>,
  ): Promise<{ frames: ChunkFrame[]; missing: string[] }> {
    const reply = await this.raw('/v1/chunks/fetch', JSON.stringify({ want }), 'application/json');
    const bytes = new Uint8Array(await reply.arrayBuffer());
    this.options.onBytes?.('in', bytes.length);
    const { header, frames } = decodeEnvelope(bytes);
    const missing = (header as { missing?: unknown }).missing;
    return { frames, missing: Array.isArray(missing) ? (missing as string[]) : [] };
  }

  /** Stores a dependency snapshot's manifest (its chunks must already be on the hub). */
  async putSnapshot(lockHash: string, manifest: unknown): Promise<void> {
    await this.raw(
      `/v1/workspaces/${this.options.workspace}/snapshots/${lockHash}`,
      JSON.stringify(manifest),
      'application/json',
      'PUT',
    );
  }

  /**
   * The manifest of the snapshot for `lockHash`, unvalidated (the caller parses it), or undefined
   * when the hub has none.
   */
  async snapshot(lockHash: string): Promise<unknown> {
    try {
      const reply = await this.raw(`/v1/workspaces/${this.options.workspace}/snapshots/${lockHash}`);
      const text = await reply.text();
      this.options.onBytes?.('in', text.length);
      return JSON.parse(text) as unknown;
    } catch (error) {
      if (error instanceof HubError && error.status === 404) return undefined;
      if (error instanceof SyntaxError)
        throw new HubError('hub replied with a snapshot that is not JSON', 200);
      throw error;
    }
  }

  /** Opens the live connection; `onMessage` gets each validated notification with its frames. */
  live(handlers: {
    onMessage: (header: LiveHeader, frames: ChunkFrame[]) => void;
    onClose: (reason: string) => void;
    onOpen: () => void;
  }): { send: (message: unknown) => void; close: () => void } {
    const replica = this.current;
    const url = new URL(`${this.base}/v1/workspaces/${this.options.workspace}/live`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('agent', this.options.agentId);
    const headers: Record<string, string> = this.options.token
      ? { authorization: `Bearer ${this.options.token}` }
      : {};
    // Bun's WebSocket accepts headers, which keeps the token out of URLs and logs.
    const socket = new WebSocket(url.toString(), { headers } as unknown as string[]);
    socket.binaryType = 'arraybuffer';
    let closed = false;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      handlers.onOpen();
    };
    socket.onmessage = (event) => {
      const data = event.data as ArrayBuffer | string;
      this.options.onBytes?.('in', typeof data === 'string' ? data.length : data.byteLength);
      let header: unknown;
      let frames: ChunkFrame[] = [];
      try {
        if (typeof data === 'string') header = JSON.parse(data);
        else ({ header, frames } = decodeEnvelope(new Uint8Array(data)));
      } catch {
        return;
      }
      const parsed = liveHeaderSchema.safeParse(header);
      if (parsed.success) handlers.onMessage(parsed.data, frames);
    };
    socket.onclose = (event) => {
      if (closed) return;
      closed = true;
      // Never reached, dropped without a close frame, or stopping: the next reconnect tries the next replica.
      if (!opened || event.code === 1006 || event.code === 1001) this.failover(replica);
      handlers.onClose(event.reason || `closed (${event.code})`);
    };
    socket.onerror = () => {
      if (closed) return;
      closed = true;
      this.failover(replica);
      handlers.onClose('connection error');
      socket.close();
    };
    return {
      send: (message) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
      },
      close: () => {
        closed = true;
        socket.close();
      },
    };
  }

  private async request<T extends z.ZodType>(
    path: string,
    body: Uint8Array<ArrayBuffer> | string | undefined,
    type: string | undefined,
    schema: T,
  ): Promise<z.infer<T>> {
    const reply = await this.raw(path, body, type);
    const text = await reply.text();
    this.options.onBytes?.('in', text.length);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HubError(`hub replied with something that is not JSON to ${path}`, reply.status);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new HubError(
        `hub reply to ${path} is malformed: ${describeZodError(parsed.error)}`,
        reply.status,
      );
    return parsed.data;
  }

  private async raw(
    path: string,
    body?: Uint8Array<ArrayBuffer> | string,
    type?: string,
    method: 'GET' | 'POST' | 'PUT' = body === undefined ? 'GET' : 'POST',
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (type) headers['content-type'] = type;
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined)
      this.options.onBytes?.('out', typeof body === 'string' ? body.length : body.length);
    let reply: Response | undefined;
    // Each replica once, starting with the one in use. Repeating a push elsewhere is safe: a change
    // the dead replica already committed comes back "unchanged".
    for (let attempt = 0; !reply; attempt++) {
      const replica = this.current;
      try {
        reply = await fetch(`${this.bases[replica]}${path}`, {
          method,
          headers,
          body,
        });
      } catch (error) {
        this.failover(replica);
        if (attempt + 1 >= this.bases.length)
          throw new HubError(
            `cannot reach the hub at ${this.bases[replica]}: ${(error as Error).message}`,
            0,
          );
      }
    }
    if (!reply.ok) {
      let message = `${reply.status} ${reply.statusText}`;
      try {
        const json = (await reply.json()) as { message?: string };
        if (json.message) message = `${reply.status}: ${json.message}`;
      } catch {
        // The status line is message enough.
      }
      if (reply.status === 401) message = 'the hub refused the token (401); pass --token or WARMSYNC_TOKEN';
      throw new HubError(message, reply.status);
    }
    return reply;
  }
}
