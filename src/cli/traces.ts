/**
 * `--otlp URL` (or WARMSYNC_OTLP) for `serve` and `agent`: the flag's check, and starting and
 * stopping the traces. The OpenTelemetry SDK is imported only when the flag is given.
 */
import { z } from 'zod';
import type { Traces } from '../traces/traces.ts';

export const otlpFlagSchema = z
  .string()
  .refine(
    (value) => {
      try {
        const { protocol } = new URL(value);
        return protocol === 'http:' || protocol === 'https:';
      } catch {
        return false;
      }
    },
    { message: 'must be the http:// or https:// URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318' },
  )
  .optional();

/** Starts the traces when `url` is given; undefined (and nothing loaded) when it is not. */
export async function startTraces(
  url: string | undefined,
  service: string,
  log: (line: string) => void,
): Promise<Traces | undefined> {
  if (!url) return undefined;
  const { startOtlpTraces, tracesEndpoint } = await import('../traces/otlp.ts');
  const traces = await startOtlpTraces({ url, service, log });
  log(`traces to ${tracesEndpoint(url)} (OTLP/HTTP JSON)`);
  return traces;
}

/** Sends the spans still queued (bounded in time) and says how many never reached the collector. */
export async function stopTraces(traces: Traces | undefined, log: (line: string) => void): Promise<void> {
  if (!traces) return;
  await traces.stop();
  const { dropped } = traces.counts();
  if (dropped > 0) log(`traces: ${dropped} span(s) did not reach the collector`);
}
