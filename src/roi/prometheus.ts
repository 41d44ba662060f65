import { z } from 'zod';
import { RoiError } from './errors.ts';

/** One series of an instant query: its labels and its value (NaN and ±Inf kept as such). */
export interface InstantSample {
  labels: Record<string, string>;
  value: number;
}

/** One series of a range query: its labels and its points, `time` in Unix seconds. */
export interface RangeSeries {
  labels: Record<string, string>;
  points: { time: number; value: number }[];
}

/** The two Prometheus HTTP API calls the ROI report needs. */
export interface PrometheusClient {
  /** The server's base URL, as shown in sources and errors. */
  readonly baseUrl: string;
  /** `GET /api/v1/query` evaluated at `time`. */
  instant(query: string, time: Date): Promise<InstantSample[]>;
  /** `GET /api/v1/query_range` from `start` to `end` every `stepSeconds`. */
  range(query: string, start: Date, end: Date, stepSeconds: number): Promise<RangeSeries[]>;
}

// Prometheus encodes sample values as strings so that NaN and ±Inf survive JSON.
const sampleValue = z.tuple([z.number(), z.string()]);
const labels = z.record(z.string(), z.string());
const errorBody = z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() });
const vectorBody = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: labels, value: sampleValue })),
  }),
});
const matrixBody = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('matrix'),
    result: z.array(z.object({ metric: labels, values: z.array(sampleValue) })),
  }),
});

/** Prometheus writes infinities as `+Inf` and `-Inf`, which `Number()` would read as NaN. */
function sampleNumber(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Options of {@link createPrometheusClient}. */
export interface PrometheusClientOptions {
  /** For example `http://127.0.0.1:9090`; a trailing slash is ignored. */
  baseUrl: string;
  /** Per-request timeout; 30 s when absent. */
  timeoutMs?: number;
  /** The fetch to use; the global one when absent (tests may pass their own). */
  fetch?: typeof fetch;
}

/**
 * A small client for the Prometheus HTTP API. Responses are validated; a network failure, an HTTP
 * error or a response of an unexpected shape becomes a one-line {@link RoiError} naming the URL.
 *
 * @example
 * const prom = createPrometheusClient({ baseUrl: 'http://127.0.0.1:9090' });
 * const [sample] = await prom.instant('up', new Date());
 */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function get(path: string, params: Record<string, string>): Promise<unknown> {
    const url = `${baseUrl}${path}`;
    let response: Response;
    try {
      response = await doFetch(`${url}?${new URLSearchParams(params)}`, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause : error) : undefined;
      throw new RoiError(
        'prometheus',
        `cannot reach Prometheus at ${url}: ${cause?.message ?? String(error)}`,
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new RoiError(
        'prometheus',
        `Prometheus at ${url} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 120)}`,
      );
    }
    const failure = errorBody.safeParse(body);
    if (failure.success) {
      throw new RoiError(
        'prometheus',
        `Prometheus at ${url} rejected the query (${failure.data.errorType}): ${failure.data.error}`,
      );
    }
    if (!response.ok)
      throw new RoiError('prometheus', `Prometheus at ${url} answered HTTP ${response.status}`);
    return body;
  }

  function invalid(path: string, error: z.ZodError): RoiError {
    const issue = error.issues[0];
    return new RoiError(
      'prometheus',
      `Prometheus at ${baseUrl}${path} sent an unexpected response: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }

  return {
    baseUrl,
    async instant(query, time) {
      const path = '/api/v1/query';
      const parsed = vectorBody.safeParse(await get(path, { query, time: String(time.getTime() / 1000) }));
      if (!parsed.success) throw invalid(path, parsed.error);
      return parsed.data.data.result.map((r) => ({ labels: r.metric, value: sampleNumber(r.value[1]) }));
    },
    async range(query, start, end, stepSeconds) {
      const path = '/api/v1/query_range';
      const params = {
        query,
        start: String(start.getTime() / 1000),
        end: String(end.getTime() / 1000),
        step: String(stepSeconds),
      };
      const parsed = matrixBody.safeParse(await get(path, params));
      if (!parsed.success) throw invalid(path, parsed.error);
      return parsed.data.data.result.map((r) => ({
        labels: r.metric,
        points: r.values.map(([time, value]) => ({ time, value: sampleNumber(value) })),
      }));
    },
  };
}
