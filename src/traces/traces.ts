/**
 * Traces as the rest of warmsync sees them: spans around a push, a commit, a fan-out, an apply
 * and a chunk fetch, linked across processes by W3C `traceparent` strings. Nothing here loads
 * OpenTelemetry; `otlp.ts` does, only when `--otlp` is given. Without it there is no `Traces`
 * object at all, and every hook is one `undefined` check (`withSpan`).
 */

/** Span attribute values, as OTLP carries them. */
export type SpanAttributes = Record<string, string | number | boolean | readonly string[]>;

/** The span a traced piece of work runs in. */
export interface SpanHandle {
  /** Adds attributes (counts and bytes known only once the work is done). */
  set(attributes: SpanAttributes): void;
  /** This span as a W3C traceparent (`00-<trace id>-<span id>-01`), for a message to a peer. */
  traceparent(): string;
}

export interface SpanOptions<T = unknown> {
  attributes?: SpanAttributes;
  /** Attributes taken from the work's result (counts known once it is done). */
  describe?: (result: T) => SpanAttributes;
  /**
   * A W3C traceparent the span is a child of: the header of a request, the trace field of a
   * live message. A malformed one is ignored.
   */
  parent?: string;
  /**
   * Start from `parent`, or a new trace without it, and never nest in the span running now. For
   * the spans that begin a unit of work (an agent's push or apply, a hub's request): a timer or
   * promise made inside an earlier span must not adopt later work into it.
   */
  root?: boolean;
}

export interface Traces {
  /**
   * Runs `fn` in a new span: a child of `options.parent`, else (unless `root`) of the span running
   * now. The span ends when `fn` settles; a throw marks it failed and is passed on.
   */
  span<T>(name: string, options: SpanOptions<T>, fn: (span: SpanHandle) => Promise<T> | T): Promise<T>;
  /** The span running now (in this async context), if any. */
  active(): SpanHandle | undefined;
  /** Every span made through the returned view carries these attributes too. */
  with(attributes: SpanAttributes): Traces;
  /** Spans the collector took, and spans dropped (queue full, collector away or refusing). */
  counts(): { exported: number; dropped: number };
  /** Sends what is queued now. */
  flush(): Promise<void>;
  /** Sends what is queued (bounded in time) and stops. */
  stop(): Promise<void>;
}

/**
 * Runs `fn` in a span when tracing is on, else runs it as it is: the one hook traced code has.
 *
 * @example
 * const outcome = await withSpan(deps.traces, 'commit', { attributes }, () => store.commit(batch));
 */
export function withSpan<T>(
  traces: Traces | undefined,
  name: string,
  options: SpanOptions<T>,
  fn: (span: SpanHandle | undefined) => Promise<T> | T,
): Promise<T> | T {
  return traces ? traces.span(name, options, fn) : fn(undefined);
}

/** A push's results by status (`warmsync.accepted`, `warmsync.conflict`...), as span attributes. */
export function countByStatus(results: readonly { status: string }[]): Record<string, number> {
  const counts: Record<string, number> = {
    'warmsync.accepted': 0,
    'warmsync.unchanged': 0,
    'warmsync.conflict': 0,
    'warmsync.rejected': 0,
  };
  for (const r of results) counts[`warmsync.${r.status}`] = (counts[`warmsync.${r.status}`] ?? 0) + 1;
  return counts;
}
