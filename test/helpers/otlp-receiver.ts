/**
 * An OTLP/HTTP trace receiver on a loopback port, as a collector would be: it takes
 * `POST /v1/traces` with JSON bodies and keeps every span, flattened, for tests to assert on.
 */
import { onCleanup } from './harness.ts';

/** One received span: its ids, name, the service that sent it, and its attributes as plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  service: string;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpBody {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpKeyValue[];
      }>;
    }>;
  }>;
}

function plain(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  return undefined;
}

function attributes(list: readonly OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

export interface OtlpReceiver {
  /** The collector's base URL (what `--otlp` takes). */
  url: string;
  spans: ReceivedSpan[];
  /** Requests of any kind that reached the receiver. */
  requests: number;
  /** Content types of the trace exports. */
  contentTypes: string[];
}

export function startOtlpReceiver(): OtlpReceiver {
  const receiver: OtlpReceiver = { url: '', spans: [], requests: 0, contentTypes: [] };
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      receiver.requests++;
      const path = new URL(request.url).pathname;
      if (request.method !== 'POST' || path !== '/v1/traces')
        return new Response('not found', { status: 404 });
      receiver.contentTypes.push(request.headers.get('content-type') ?? '');
      const body = (await request.json()) as OtlpBody;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributes(resourceSpans.resource?.attributes)['service.name'] ?? '');
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            receiver.spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              service,
              attributes: attributes(span.attributes),
            });
      }
      return Response.json({});
    },
  });
  receiver.url = `http://127.0.0.1:${server.port}`;
  onCleanup(() => server.stop(true));
  return receiver;
}
