import { afterAll, describe, expect, it } from 'bun:test';
import { monthWindow } from '../../src/roi/month.ts';
import { createPrometheusClient } from '../../src/roi/prometheus.ts';
import { fetchMonthMetrics } from '../../src/roi/queries.ts';
import { freePort } from './prometheus-server.ts';

// A stand-in for Prometheus on loopback that answers each path with a canned body, to pin down how
// the client treats failures and odd values. The real-Prometheus test covers the queries themselves.
const bodies = new Map<string, { status: number; body: string }>();
const stub = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(request) {
    const canned = bodies.get(new URL(request.url).pathname);
    return canned
      ? new Response(canned.body, { status: canned.status })
      : new Response('nope', { status: 404 });
  },
});
const baseUrl = `http://127.0.0.1:${stub.port}`;
afterAll(() => stub.stop(true));

const vector = (value: string) =>
  JSON.stringify({
    status: 'success',
    data: { resultType: 'vector', result: [{ metric: {}, value: [1, value] }] },
  });

describe('createPrometheusClient', () => {
  it('names the URL when Prometheus cannot be reached', async () => {
    const port = await freePort();
    const client = createPrometheusClient({ baseUrl: `http://127.0.0.1:${port}/` });
    await expect(client.instant('up', new Date())).rejects.toThrow(
      `cannot reach Prometheus at http://127.0.0.1:${port}/api/v1/query: `,
    );
  });

  it('passes on the error Prometheus gives for a bad query', async () => {
    bodies.set('/api/v1/query', {
      status: 400,
      body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }),
    });
    const client = createPrometheusClient({ baseUrl });
    await expect(client.instant('up{', new Date())).rejects.toThrow(
      `Prometheus at ${baseUrl}/api/v1/query rejected the query (bad_data): parse error at char 3`,
    );
  });

  it('refuses a response of the wrong shape', async () => {
    bodies.set('/api/v1/query_range', { status: 200, body: vector('1') });
    const client = createPrometheusClient({ baseUrl });
    await expect(client.range('up', new Date(0), new Date(86_400_000), 86_400)).rejects.toThrow(
      `Prometheus at ${baseUrl}/api/v1/query_range sent an unexpected response`,
    );
  });

  it('says when the body is not JSON, with the HTTP status', async () => {
    bodies.set('/api/v1/query', { status: 502, body: '<html>bad gateway</html>' });
    const client = createPrometheusClient({ baseUrl });
    await expect(client.instant('up', new Date())).rejects.toThrow(
      'answered HTTP 502 with a body that is not JSON',
    );
  });

  it('reads +Inf and NaN as the non-finite numbers they are', async () => {
    const client = createPrometheusClient({ baseUrl });
    bodies.set('/api/v1/query', { status: 200, body: vector('+Inf') });
    expect((await client.instant('x', new Date()))[0]?.value).toBe(Number.POSITIVE_INFINITY);
    bodies.set('/api/v1/query', { status: 200, body: vector('NaN') });
    expect((await client.instant('x', new Date()))[0]?.value).toBeNaN();
  });
});

describe('fetchMonthMetrics', () => {
  it('turns NaN and +Inf results into no data, never 0', async () => {
    bodies.set('/api/v1/query', { status: 200, body: vector('NaN') });
    const metrics = await fetchMonthMetrics(createPrometheusClient({ baseUrl }), monthWindow('2026-10'));
    expect(metrics.prewarmHitRate).toMatchObject({
      noData: true,
      reason: 'no usable value in 2026-10 (the query returned NaN)',
    });
    // The bytes query expects a `direction` label; a series without it is no data too.
    expect(metrics.bytesIn).toMatchObject({ noData: true });
  });
});
