/**
 * The agent's side of the protocol: HTTP requests for pushes, catch-up and chunk fetches, and the
 * live WebSocket. Every reply is validated with the protocol schemas before use.
 */
import type { z } from 'zod';
import { type ChunkFrame, decodeEnvelope, encodeEnvelope } from '../core/frames.ts';
import { MAX_MISSING_HASHES } from '../core/limits.ts';
import {
  type AgentChangesPage,
  agentChangesSchema,
  describeZodError,
  fetchReplyHeaderSchema,
  hubErrorSchema,
  missingResponseSchema,
  type PushResponse,
  pushResponseSchema,
  type WireLiveHeader,
  type WirePushHeader,
  wireLiveHeaderSchema,
} from '../core/protocol.ts';
import { certificateProblem, describeCertificateProblem, type HubTlsOptions, hubTls } from './hub-tls.ts';

/** Times a request the hub turned away as busy (429) is sent again, after its Retry-After. */
const BUSY_RETRIES = 5;
/** Times a push whose answer was lost is sent again (0.25 s, 0.5 s, 1 s apart). */
const PUSH_RESENDS = 3;

function newPushId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex');
}

/**
 * True for a failure that says nothing about whether the hub committed: no answer, or a cut one.
 * A refused certificate is not one: the request never left this machine.
 */
function answerLost(error: unknown): boolean {
  return !(error instanceof HubError) || (error.status === 0 && !error.certificate);
}

export class HubError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the hub could not be reached. */
    readonly status: number,
    /**
     * True when the hub's TLS certificate did not verify: a setting to fix (--ca, the hub's
     * certificate), not an outage to wait out.
     */
    readonly certificate = false,
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
  /** PEM certificates of a private CA that signs the hub's certificate (`--ca`). */
  ca?: readonly string[];
  agentId: string;
  /** Counts bytes crossing the connection, for progress and metrics. */
  onBytes?: (direction: 'in' | 'out', bytes: number) => void;
  /** The span a request is part of, sent as its `traceparent` header (`agent --otlp`). */
  traceparent?: () => string | undefined;
}

/**
 * Splits a `--server` value into replica URLs (comma-separated, trailing slashes dropped). A
 * `ws://` or `wss://` URL names the same hub as `http://` or `https://`: requests go over HTTP(S)
 * and the live socket over the matching WebSocket scheme (see `live`).
 */
export function serverUrls(server: string): string[] {
  return server
    .split(',')
    .map((url) =>
      url
        .trim()
        .replace(/\/+$/, '')
        .replace(/^ws(s?):\/\//i, 'http$1://'),
    )
    .filter((url) => url.length > 0);
}

/** True for a URL a hub can be reached at: http:// or https:// (after `serverUrls`). */
export function isHubUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

export class HubClient {
  private readonly bases: string[];
  /** Index of the replica in use; every request and the live socket go there until it fails. */
  private current = 0;
  private readonly tls: HubTlsOptions;

  constructor(private readonly options: HubClientOptions) {
    this.bases = serverUrls(options.server);
    this.tls = hubTls(options.ca);
    if (this.bases.length === 0) throw new HubError('no hub URL given', 0);
  }

  private get base(): string {
    return this.bases[this.current]!;
  }

  /** Moves to the next replica, unless another failure already moved on from `from`. */
  private failover(from: number): void {
    if (this.current === from) this.current = (from + 1) % this.bases.length;
  }

  /**
   * Sends one push. A push with changes carries a fresh push id; when its answer is lost on the
   * way (the connection drops, the reply is cut short), the same bytes are sent again, and the hub
   * answers a push it already committed from its record instead of committing it twice.
   */
  async push(header: WirePushHeader, frames: readonly ChunkFrame[]): Promise<PushResponse> {
    const named = header.changes.length > 0 && !header.pushId ? { ...header, pushId: newPushId() } : header;
    const body = encodeEnvelope(named, frames);
    for (let resend = 0; ; resend++) {
      try {
        return await this.request(
          `/v1/workspaces/${this.options.workspace}/push`,
          body,
          'application/octet-stream',
          pushResponseSchema,
        );
      } catch (error) {
        if (!answerLost(error) || resend >= PUSH_RESENDS) throw error;
        await new Promise((r) => setTimeout(r, 250 * 2 ** resend));
      }
    }
  }

  async changes(since: number): Promise<AgentChangesPage> {
    return this.request(
      `/v1/workspaces/${this.options.workspace}/changes?since=${since}`,
      undefined,
      undefined,
      agentChangesSchema,
    );
  }

  /** The hashes the hub lacks, asked in requests of at most MAX_MISSING_HASHES (the hub's bound). */
  async missing(hashes: string[]): Promise<string[]> {
    const missing: string[] = [];
    for (let i = 0; i < hashes.length; i += MAX_MISSING_HASHES) {
      const body = JSON.stringify({ hashes: hashes.slice(i, i + MAX_MISSING_HASHES) });
      const reply = await this.request('/v1/chunks/missing', body, 'application/json', missingResponseSchema);
      missing.push(...reply.missing);
    }
    return missing;
  }

  /** Fetches chunks; the reply's frames are still to be opened and verified by the caller. */
  async fetchChunks(
    want: Array<{ hash: string; base?: string }>,
  ): Promise<{ frames: ChunkFrame[]; missing: string[] }> {
    const reply = await this.raw('/v1/chunks/fetch', JSON.stringify({ want }), 'application/json');
    const bytes = new Uint8Array(await reply.arrayBuffer());
    this.options.onBytes?.('in', bytes.length);
    let decoded: { header: unknown; frames: ChunkFrame[] };
    try {
      decoded = decodeEnvelope(bytes);
    } catch (error) {
      throw new HubError(`hub reply to chunks/fetch is malformed: ${(error as Error).message}`, reply.status);
    }
    const header = fetchReplyHeaderSchema.safeParse(decoded.header);
    if (!header.success)
      throw new HubError(
        `hub reply to chunks/fetch is malformed: ${describeZodError(header.error)}`,
        reply.status,
      );
    return { frames: decoded.frames, missing: header.data.missing };
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

  /**
   * Opens the live connection; `onMessage` gets each validated notification with its frames,
   * `onUnreadable` hears of one that the schema refused (a catch-up then reads it entry by entry).
   */
  live(handlers: {
    onMessage: (header: WireLiveHeader, frames: ChunkFrame[]) => void;
    onUnreadable?: () => void;
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
    // Bun's WebSocket accepts headers, which keeps the token out of URLs and logs, and the same
    // TLS options as fetch, so the live socket verifies the hub exactly as requests do. The DOM
    // typing of the constructor knows neither, hence the cast after Bun's own type is checked.
    const options = { headers, tls: this.tls } satisfies Bun.WebSocketOptions;
    const socket = new WebSocket(url.toString(), options as unknown as string[]);
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
      const parsed = wireLiveHeaderSchema.safeParse(header);
      if (parsed.success) handlers.onMessage(parsed.data, frames);
      else handlers.onUnreadable?.();
    };
    socket.onclose = (event) => {
      if (closed) return;
      closed = true;
      // Never reached, dropped without a close frame, or stopping: the next reconnect tries the next replica.
      if (!opened || event.code === 1006 || event.code === 1001) this.failover(replica);
      handlers.onClose(event.reason || `closed (${event.code})`);
    };
    socket.onerror = (event) => {
      if (closed) return;
      closed = true;
      this.failover(replica);
      // Bun puts the reason (a refused certificate, say) in the event's message.
      const said = (event as { message?: unknown }).message;
      const problem = certificateProblem(said);
      handlers.onClose(
        problem
          ? describeCertificateProblem(this.bases[replica]!, problem)
          : typeof said === 'string' && said
            ? said
            : 'connection error',
      );
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
    const traceparent = this.options.traceparent?.();
    if (traceparent) headers.traceparent = traceparent;
    if (body !== undefined)
      this.options.onBytes?.('out', typeof body === 'string' ? body.length : body.length);
    for (let busy = 0; ; busy++) {
      const reply = await this.send(path, method, headers, body);
      if (reply.ok) return reply;
      const message = await refusal(reply);
      // Busy (too many pushes to the workspace at once): nothing was done, so sending again is safe.
      if (reply.status === 429 && busy < BUSY_RETRIES) {
        const seconds = Number(reply.headers.get('retry-after'));
        const delay = Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) * 1000 : 1000;
        await new Promise((r) => setTimeout(r, delay * (1 + Math.random())));
        continue;
      }
      throw new HubError(message, reply.status);
    }
  }

  private async send(
    path: string,
    method: string,
    headers: Record<string, string>,
    body: Uint8Array<ArrayBuffer> | string | undefined,
  ): Promise<Response> {
    let reply: Response | undefined;
    // Each replica once, starting with the one in use. Repeating a push elsewhere is safe: replicas
    // share the store, which answers a push id it already committed from its record.
    for (let attempt = 0; !reply; attempt++) {
      const replica = this.current;
      try {
        reply = await fetch(`${this.bases[replica]}${path}`, {
          method,
          headers,
          body,
          tls: this.tls,
        });
      } catch (error) {
        this.failover(replica);
        if (attempt + 1 >= this.bases.length) throw unreachable(this.bases[replica]!, error);
      }
    }
    return reply;
  }
}

/** The error for a request that got no answer: a certificate that did not verify, or no hub. */
function unreachable(hub: string, error: unknown): HubError {
  const problem = certificateProblem(error);
  if (problem) return new HubError(describeCertificateProblem(hub, problem), 0, true);
  // A TLS hub drops a plain HTTP request without a word; this is what that looks like from here.
  const hint =
    hub.startsWith('http://') && (error as { code?: string }).code === 'ECONNRESET'
      ? `; if the hub serves HTTPS, use ${hub.replace('http://', 'https://')}`
      : '';
  return new HubError(`cannot reach the hub at ${hub}: ${(error as Error).message}${hint}`, 0);
}

/** The sentence for a refused request: the hub's own message when it sent one, else the status line. */
async function refusal(reply: Response): Promise<string> {
  let text = '';
  try {
    text = await reply.text();
  } catch {
    // The status line is message enough.
  }
  let said: string | undefined;
  try {
    const parsed = hubErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) said = parsed.data.message;
  } catch {
    // Not JSON: a proxy's page, say.
  }
  if (reply.status === 401)
    return `the hub refused the token (401${said ? `: ${said}` : ''}); pass --token or WARMSYNC_TOKEN`;
  return said ? `${reply.status}: ${said}` : `${reply.status} ${reply.statusText}`;
}
