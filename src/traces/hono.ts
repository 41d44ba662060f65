/**
 * The hub's request spans: a Hono middleware that runs a route in a span, the child of the
 * request's W3C `traceparent` header when it has one (an agent's push or apply), and notes the
 * answer's status. Mounted only when the hub traces.
 */
import type { MiddlewareHandler } from 'hono';
import type { Traces } from './traces.ts';

/**
 * @example
 * if (deps.traces) app.use('/v1/chunks/fetch', traceRequests(deps.traces, 'fetch'));
 */
export function traceRequests(traces: Traces, name: string): MiddlewareHandler {
  return async (c, next) => {
    const workspace = c.req.param('ws');
    await traces.span(
      name,
      {
        root: true,
        parent: c.req.header('traceparent'),
        attributes: workspace ? { 'warmsync.workspace': workspace } : {},
      },
      async (span) => {
        await next();
        span.set({ 'http.response.status_code': c.res.status });
      },
    );
  };
}
