/**
 * `--otlp` tracing end to end: a real hub and two real agents, each sending spans to a real
 * OTLP/HTTP receiver on loopback; one trace from an agent's push to its peer's apply. Off, nothing
 * is sent anywhere; with the collector down, sync goes on and the spans are counted as dropped.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEnvelope } from '../../src/core/frames.ts';
import { startOtlpTraces } from '../../src/traces/otlp.ts';
import type { Traces } from '../../src/traces/traces.ts';
import { cleanup, onCleanup, startAgent, startHub, waitUntil } from '../helpers/harness.ts';
import { type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.ts';

afterEach(cleanup);

async function traces(url: string, service: string, exportTimeoutMs?: number): Promise<Traces> {
  const t = await startOtlpTraces({ url, service, scheduledDelayMs: 50, exportTimeoutMs });
  onCleanup(() => t.stop());
  return t;
}

/** Every header of the live notifications a bystander on the workspace's socket gets, once it is on. */
async function watchLive(hubUrl: string): Promise<Array<Record<string, unknown>>> {
  const headers: Array<Record<string, unknown>> = [];
  const socket = new WebSocket(
    `${hubUrl.replace('http', 'ws')}/v1/workspaces/test/live?agent=0000aaaa0000bbbb`,
  );
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (event) => {
    if (typeof event.data === 'string') return;
    headers.push(decodeEnvelope(new Uint8Array(event.data as ArrayBuffer)).header as Record<string, unknown>);
  };
  onCleanup(() => socket.close());
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  return headers;
}

/** A hub, two agents and a receiver, all tracing to it. */
async function tracedPair(collector: string, exportTimeoutMs?: number) {
  const hubTraces = await traces(collector, 'warmsync-hub', exportTimeoutMs);
  const hub = startHub({ traces: hubTraces });
  const aTraces = await traces(collector, 'warmsync-agent', exportTimeoutMs);
  const bTraces = await traces(collector, 'warmsync-agent', exportTimeoutMs);
  const a = await startAgent(hub, { traces: aTraces });
  const b = await startAgent(hub, { traces: bTraces });
  const flush = () => Promise.all([aTraces.flush(), hubTraces.flush(), bTraces.flush()]);
  return { hub, a, b, all: [hubTraces, aTraces, bTraces], flush };
}

function one(
  spans: readonly ReceivedSpan[],
  what: string,
  match: (s: ReceivedSpan) => boolean,
): ReceivedSpan {
  const found = spans.filter(match);
  if (found.length !== 1)
    throw new Error(
      `expected one ${what}, found ${found.length} among ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`,
    );
  return found[0]!;
}

/** The agent's push of the one edit (a first sync of an empty folder pushes nothing). */
const agentPush = (s: ReceivedSpan) =>
  s.service === 'warmsync-agent' && s.name === 'push' && s.attributes['warmsync.changes'] === 1;

describe('traces over OTLP/HTTP', () => {
  it('follows one edit in one trace: push, hub push, commit, fan-out, the peer apply', async () => {
    const receiver = startOtlpReceiver();
    const { hub, a, b, flush } = await tracedPair(receiver.url);
    const live = await watchLive(hub.url);
    writeFileSync(join(a.tree.root, 'hello.txt'), 'traced\n');
    await waitUntil(() => existsSync(join(b.tree.root, 'hello.txt')), 'the edit on the peer');
    const appliedHere = (s: ReceivedSpan) =>
      s.name === 'apply' &&
      s.attributes['warmsync.agent'] === b.agentId &&
      s.attributes['warmsync.applied'] === 1;
    await waitUntil(async () => {
      await flush();
      return receiver.spans.some(appliedHere) && receiver.spans.some(agentPush);
    }, 'the agent push and the peer apply spans at the receiver');
    const spans = receiver.spans;
    expect(receiver.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);

    const push = one(spans, 'agent push', agentPush);
    expect(push.attributes).toMatchObject({
      'warmsync.workspace': 'test',
      'warmsync.agent': a.agentId,
      'warmsync.paths': ['hello.txt'],
      'warmsync.accepted': 1,
    });
    expect(push.parentSpanId).toBeUndefined();
    const inTrace = spans.filter((s) => s.traceId === push.traceId);
    const hubPush = one(inTrace, 'hub push', (s) => s.service === 'warmsync-hub' && s.name === 'push');
    expect(hubPush.parentSpanId).toBe(push.spanId);
    expect(hubPush.attributes).toMatchObject({
      'warmsync.workspace': 'test',
      'warmsync.agent': a.agentId,
      'warmsync.accepted': 1,
      'http.response.status_code': 200,
    });
    const commit = one(inTrace, 'commit', (s) => s.name === 'commit');
    expect(commit.parentSpanId).toBe(hubPush.spanId);
    expect(commit.attributes).toMatchObject({ 'warmsync.workspace': 'test', 'warmsync.entries': 1 });
    const fanOut = one(inTrace, 'fan-out', (s) => s.name === 'fan-out');
    expect(fanOut.parentSpanId).toBe(hubPush.spanId);
    // Both agents and the bystander are live on the workspace.
    expect(fanOut.attributes).toMatchObject({ 'warmsync.workspace': 'test', 'warmsync.peers': 3 });
    const apply = one(inTrace, 'peer apply', appliedHere);
    expect(apply.parentSpanId).toBe(fanOut.spanId);
    expect(apply.attributes).toMatchObject({ 'warmsync.workspace': 'test', 'warmsync.paths': ['hello.txt'] });
    // The live notification carried the fan-out span as its trace context.
    expect(live.find((h) => h.type === 'entries')?.trace).toBe(`00-${push.traceId}-${fanOut.spanId}-01`);
  });

  it('makes the chunk fetch of a large file a child of the peer apply', async () => {
    const receiver = startOtlpReceiver();
    const { a, b, flush } = await tracedPair(receiver.url);
    // Past the size that travels inline: the peer fetches the chunks.
    const content = randomBytes(600 * 1024);
    writeFileSync(join(a.tree.root, 'big.bin'), content);
    await waitUntil(
      () =>
        existsSync(join(b.tree.root, 'big.bin')) &&
        readFileSync(join(b.tree.root, 'big.bin')).equals(content),
      'the large file on the peer',
    );
    const fetchSpan = () => receiver.spans.find((s) => s.service === 'warmsync-hub' && s.name === 'fetch');
    await waitUntil(async () => {
      await flush();
      return fetchSpan() !== undefined && receiver.spans.some(agentPush);
    }, 'the hub fetch and the agent push spans');
    const apply = one(
      receiver.spans,
      'peer apply',
      (s) =>
        s.name === 'apply' &&
        s.attributes['warmsync.agent'] === b.agentId &&
        s.attributes['warmsync.applied'] === 1,
    );
    const fetched = fetchSpan()!;
    expect(fetched.parentSpanId).toBe(apply.spanId);
    expect(fetched.traceId).toBe(apply.traceId);
    expect(Number(fetched.attributes['warmsync.chunks'])).toBeGreaterThan(0);
    const push = one(receiver.spans, 'agent push', agentPush);
    expect(apply.traceId).toBe(push.traceId);
  });

  it('sends nothing when off: no span, no traceparent header, no trace field', async () => {
    const receiver = startOtlpReceiver();
    const hub = startHub();
    const traceparents: string[] = [];
    const front = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(request, server) {
        const header = request.headers.get('traceparent');
        if (header !== null) traceparents.push(header);
        return hub.sync.app.fetch(request, server);
      },
      websocket: hub.sync.websocket,
    });
    onCleanup(() => front.stop(true));
    const url = `http://127.0.0.1:${front.port}`;
    const live = await watchLive(url);
    const a = await startAgent({ url });
    const b = await startAgent({ url });
    writeFileSync(join(a.tree.root, 'plain.txt'), 'untraced\n');
    writeFileSync(join(a.tree.root, 'big.bin'), randomBytes(600 * 1024));
    await waitUntil(
      () => existsSync(join(b.tree.root, 'plain.txt')) && existsSync(join(b.tree.root, 'big.bin')),
      'the edits on the peer',
    );
    await waitUntil(() => live.some((h) => h.type === 'entries'), 'a live notification');
    expect(traceparents).toEqual([]);
    expect(live.filter((h) => h.type === 'entries').every((h) => !('trace' in h))).toBe(true);
    expect(receiver.requests).toBe(0);
  });

  it('keeps syncing when the collector is down, and counts the spans it drops', async () => {
    const gone = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') });
    const collector = `http://127.0.0.1:${gone.port}`;
    gone.stop(true);
    const { a, b, all, flush } = await tracedPair(collector, 300);
    for (const round of [1, 2, 3]) {
      const started = performance.now();
      writeFileSync(join(a.tree.root, 'note.txt'), `round ${round}\n`);
      await waitUntil(
        () =>
          existsSync(join(b.tree.root, 'note.txt')) &&
          readFileSync(join(b.tree.root, 'note.txt'), 'utf8') === `round ${round}\n`,
        `round ${round} on the peer`,
      );
      // A dead collector adds nothing to the edit's way (an export takes up to 300 ms here, and
      // retries; none of that is on the sync path).
      expect(performance.now() - started).toBeLessThan(5000);
    }
    await flush();
    await waitUntil(() => all.every((t) => t.counts().dropped > 0), 'the dropped spans counted');
    for (const t of all) expect(t.counts().exported).toBe(0);
  });
});
