/**
 * A loopback stand-in for the GitHub REST API (the few issue endpoints the Action uses) and, under
 * `/prom`, for the Prometheus HTTP API with canned answers. It records every request so that tests
 * can check exactly what the Action sent.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  search: string;
  authorization: string | null;
  body: unknown;
}

interface Issue {
  number: number;
  title: string;
  body: string;
  pull_request?: { url: string };
}

interface Comment {
  id: number;
  body: string;
}

export interface FakeGitHub {
  url: string;
  prometheusUrl: string;
  requests: RecordedRequest[];
  /** The authorization header of each request to the Prometheus stand-in. */
  prometheusAuthorizations: (string | null)[];
  issues: Issue[];
  comments: Map<number, Comment[]>;
  /** When set, every GitHub endpoint answers with this status. */
  failWith: number | undefined;
  stop(): Promise<void>;
}

/** The canned month: the figures the model tests derive 2.54 min/day from. */
export const CANNED = {
  p95Seconds: 0.012,
  hitRate: 0.8,
  conflictRate: 0.0025,
  operations: 206_800,
  conflicts: 517,
  bytesIn: 3 * 1024 ** 3,
  bytesOut: 512 * 1024 ** 2,
};

/** The messages GitHub sends with these statuses. */
const FAILURE_MESSAGES: Record<number, string> = {
  401: 'Bad credentials',
  403: 'Resource not accessible by integration',
  404: 'Not Found',
};

function prometheusAnswer(path: string, query: string): unknown {
  if (path.endsWith('/query_range')) {
    const series = query.includes('histogram_quantile') ? CANNED.p95Seconds : CANNED.hitRate;
    // Data on 1 and 2 October 2026 only (points at the end of each day).
    const points = [Date.UTC(2026, 9, 2), Date.UTC(2026, 9, 3)]
      .map((ms) => ms / 1000)
      .map((t) => [t, String(series)]);
    return { status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: points }] } };
  }
  const one = (value: number) => [{ metric: {}, value: [1, String(value)] }];
  let result: unknown;
  if (query.includes('histogram_quantile')) result = one(CANNED.p95Seconds);
  else if (query.includes('workspace_prewarm')) result = one(CANNED.hitRate);
  else if (query.includes('sum by (direction)')) {
    result = [
      { metric: { direction: 'in' }, value: [1, String(CANNED.bytesIn)] },
      { metric: { direction: 'out' }, value: [1, String(CANNED.bytesOut)] },
    ];
  } else if (query.includes('workspace_sync_conflicts_total') && query.includes(') / ')) {
    result = one(CANNED.conflictRate);
  } else if (query.includes('workspace_sync_conflicts_total')) result = one(CANNED.conflicts);
  else result = one(CANNED.operations);
  return { status: 'success', data: { resultType: 'vector', result } };
}

/** Starts the stand-in on 127.0.0.1 for repository `owner/repo`. */
export function startFakeGitHub(owner: string, repo: string): FakeGitHub {
  const state: FakeGitHub = {
    url: '',
    prometheusUrl: '',
    requests: [],
    prometheusAuthorizations: [],
    issues: [],
    comments: new Map(),
    failWith: undefined,
    stop: async () => {},
  };
  let nextId = 9000;
  const base = `/repos/${owner}/${repo}`;
  const html = (suffix: string) => `https://github.example/${owner}/${repo}/${suffix}`;
  const issueJson = (issue: Issue) => ({ ...issue, html_url: html(`issues/${issue.number}`) });
  const commentJson = (issueNumber: number, c: Comment) => ({
    ...c,
    html_url: html(`issues/${issueNumber}#issuecomment-${c.id}`),
  });

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const text = await request.text();
      if (url.pathname.startsWith('/prom/')) {
        state.prometheusAuthorizations.push(request.headers.get('authorization'));
        return Response.json(prometheusAnswer(url.pathname, url.searchParams.get('query') ?? ''));
      }
      state.requests.push({
        method: request.method,
        path: url.pathname,
        search: url.search,
        authorization: request.headers.get('authorization'),
        body: text ? JSON.parse(text) : undefined,
      });
      if (state.failWith) {
        const message = FAILURE_MESSAGES[state.failWith] ?? 'Error';
        return Response.json({ message }, { status: state.failWith });
      }

      const page = Number(url.searchParams.get('page') ?? '1');
      const perPage = Number(url.searchParams.get('per_page') ?? '30');
      const paged = <T>(items: T[]) => {
        const slice = items.slice((page - 1) * perPage, page * perPage);
        const headers = new Headers();
        if (page * perPage < items.length) {
          const next = new URL(url);
          next.searchParams.set('page', String(page + 1));
          headers.set('link', `<${next}>; rel="next"`);
        }
        return Response.json(slice, { headers });
      };
      const route = `${request.method} ${url.pathname.slice(base.length)}`;
      if (!url.pathname.startsWith(base)) return Response.json({ message: 'Not Found' }, { status: 404 });

      const notFound = () => Response.json({ message: 'Not Found' }, { status: 404 });
      const issueRoute = route.match(/^GET \/issues\/(\d+)$/);
      const commentsRoute = route.match(/^(GET|POST) \/issues\/(\d+)\/comments$/);
      const editRoute = route.match(/^PATCH \/issues\/comments\/(\d+)$/);
      if (route === 'GET /issues') return paged(state.issues.map(issueJson));
      if (route === 'POST /issues') {
        const { title, body } = JSON.parse(text) as { title: string; body: string };
        const issue = { number: state.issues.length + 1, title, body };
        state.issues.push(issue);
        return Response.json(issueJson(issue), { status: 201 });
      }
      if (issueRoute) {
        const issue = state.issues.find((i) => i.number === Number(issueRoute[1]));
        return issue ? Response.json(issueJson(issue)) : notFound();
      }
      if (commentsRoute) {
        const issueNumber = Number(commentsRoute[2]);
        if (!state.issues.some((i) => i.number === issueNumber)) return notFound();
        const list = state.comments.get(issueNumber) ?? [];
        state.comments.set(issueNumber, list);
        if (commentsRoute[1] === 'GET') return paged(list.map((c) => commentJson(issueNumber, c)));
        const comment = { id: nextId++, body: (JSON.parse(text) as { body: string }).body };
        list.push(comment);
        return Response.json(commentJson(issueNumber, comment), { status: 201 });
      }
      if (editRoute) {
        for (const [issueNumber, list] of state.comments) {
          const comment = list.find((c) => c.id === Number(editRoute[1]));
          if (!comment) continue;
          comment.body = (JSON.parse(text) as { body: string }).body;
          return Response.json(commentJson(issueNumber, comment));
        }
        return notFound();
      }
      return Response.json({ message: `no route for ${route}` }, { status: 404 });
    },
  });
  state.url = `http://127.0.0.1:${server.port}`;
  state.prometheusUrl = `${state.url}/prom`;
  state.stop = () => server.stop(true);
  return state;
}
