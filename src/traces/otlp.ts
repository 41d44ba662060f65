/**
 * `--otlp URL`: traces sent to an OpenTelemetry collector over OTLP/HTTP with JSON bodies
 * (POST URL/v1/traces), through the official SDK (`@opentelemetry/sdk-trace`, its batch span
 * processor) and exporter (`@opentelemetry/exporter-trace-otlp-http`).
 *
 * The SDK is imported here, on demand, and this module is imported only by the composition roots
 * when the flag is given: a process without `--otlp` never loads it (about 200 ms of module
 * loading on a busy machine).
 *
 * Sync never waits for the collector. Finished spans go to a bounded queue that is sent every
 * `scheduledDelayMs` on its own; when the queue is full, spans are dropped, and a batch the
 * collector does not take (down, refusing, too slow) is dropped after the exporter's retries.
 * Both are counted (`counts()`), through the processor's own span-processed counter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Attributes, Context, Counter, Meter, MeterProvider, Span } from '@opentelemetry/api';
import type { SpanAttributes, SpanHandle, SpanOptions, Traces } from './traces.ts';

export interface OtlpOptions {
  /** The collector: `http://HOST:4318` (spans go to `/v1/traces` under it) or the full traces URL. */
  url: string;
  /** `service.name` of the spans: warmsync-hub, warmsync-agent. */
  service: string;
  log?: (line: string) => void;
  /** How long finished spans wait to be sent together (default 1000 ms). */
  scheduledDelayMs?: number;
  /** How long one export may take, retries included (default 5000 ms). */
  exportTimeoutMs?: number;
  /** Finished spans held while the collector is slow or away; more are dropped (default 2048). */
  maxQueueSize?: number;
}

/** The counter the batch span processor reports each span it is done with on (semconv name). */
const PROCESSED_COUNTER = 'otel.sdk.processor.span.processed';

/** The OTLP traces endpoint for a `--otlp` value. */
export function tracesEndpoint(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

/**
 * Loads the SDK and starts sending spans to the collector.
 *
 * @example
 * const traces = await startOtlpTraces({ url: 'http://127.0.0.1:4318', service: 'warmsync-hub' });
 * await traces.span('push', { attributes: { 'warmsync.workspace': 'web' } }, async () => work());
 * await traces.stop();
 */
export async function startOtlpTraces(options: OtlpOptions): Promise<Traces> {
  const [api, core, sdk, exporterModule, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const url = tracesEndpoint(options.url);
  const counts = { exported: 0, dropped: 0 };
  let warned = false;
  const onProcessed = (n: number, attributes: Record<string, unknown> | undefined) => {
    if (attributes?.['error.type'] === undefined) {
      counts.exported += n;
      return;
    }
    counts.dropped += n;
    if (!warned) {
      warned = true;
      options.log?.(
        `traces: ${n} span(s) dropped (${String(attributes['error.type'])}); ${url} is away or refusing, sync goes on`,
      );
    }
  };
  const exporter = new exporterModule.OTLPTraceExporter({
    url,
    timeoutMillis: options.exportTimeoutMs ?? 5000,
  });
  const processor = new sdk.BatchSpanProcessor({
    exporter,
    maxQueueSize: options.maxQueueSize ?? 2048,
    maxExportBatchSize: Math.min(512, options.maxQueueSize ?? 2048),
    scheduledDelayMillis: options.scheduledDelayMs ?? 1000,
    exportTimeoutMillis: (options.exportTimeoutMs ?? 5000) + 1000,
    selfObsMeterProvider: countingMeterProvider(api.createNoopMeter(), onProcessed),
  });
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': options.service }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('warmsync');
  const propagator = new core.W3CTraceContextPropagator();
  const running = new AsyncLocalStorage<Context>();

  const remote = (traceparent: string | undefined): Context | undefined => {
    if (!traceparent) return undefined;
    const context = propagator.extract(api.ROOT_CONTEXT, { traceparent }, api.defaultTextMapGetter);
    return api.trace.getSpanContext(context) ? context : undefined;
  };
  const handle = (span: Span): SpanHandle => ({
    set: (attributes) => span.setAttributes(attributes as Attributes),
    traceparent: () => {
      const carrier: Record<string, string> = {};
      propagator.inject(api.trace.setSpan(api.ROOT_CONTEXT, span), carrier, api.defaultTextMapSetter);
      return carrier.traceparent ?? '';
    },
  });

  const view = (common: SpanAttributes): Traces => ({
    async span<T>(name: string, spanOptions: SpanOptions<T>, fn: (span: SpanHandle) => Promise<T> | T) {
      const parent =
        remote(spanOptions.parent) ??
        (spanOptions.root ? api.ROOT_CONTEXT : running.getStore()) ??
        api.ROOT_CONTEXT;
      const span = tracer.startSpan(
        name,
        { attributes: { ...common, ...spanOptions.attributes } as Attributes },
        parent,
      );
      try {
        const result = await running.run(api.trace.setSpan(parent, span), () => fn(handle(span)));
        if (spanOptions.describe) span.setAttributes(spanOptions.describe(result) as Attributes);
        return result;
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    },
    active() {
      // A timer or promise made inside a span may run after it ended: that work is not part of it.
      const span = api.trace.getSpan(running.getStore() ?? api.ROOT_CONTEXT);
      return span?.isRecording() ? handle(span) : undefined;
    },
    with: (attributes) => view({ ...common, ...attributes }),
    counts: () => ({ ...counts }),
    flush: () => provider.forceFlush().catch(() => {}),
    async stop() {
      // Bounded: a collector that is away must not hold up the process's exit for long.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, (options.exportTimeoutMs ?? 5000) + 1000);
      });
      await Promise.race([provider.shutdown().catch(() => {}), limit]);
      clearTimeout(timer);
    },
  });
  return view({});
}

/**
 * A meter provider that hands the batch span processor a counter of its own for the spans it is
 * done with (exported, or dropped with an `error.type`), and no-op instruments for the rest.
 */
function countingMeterProvider(
  noop: Meter,
  onProcessed: (n: number, attributes: Record<string, unknown> | undefined) => void,
): MeterProvider {
  const counter: Counter = { add: (n, attributes) => onProcessed(n, attributes) };
  const meter: Meter = Object.create(noop, {
    createCounter: {
      value: (name: string, options?: Parameters<Meter['createCounter']>[1]) =>
        name === PROCESSED_COUNTER ? counter : noop.createCounter(name, options),
    },
  });
  return { getMeter: () => meter };
}
