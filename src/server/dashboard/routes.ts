/**
 * The dashboard's routes: `GET /` (the live page), `GET /login` (the form, or `?code=` from the
 * URL `serve` prints), `POST /login`, `POST /logout`, `GET /dashboard/events` (a JSON snapshot
 * every second, as server-sent events), `GET /dashboard/snapshot` and `POST /dashboard/resolve`.
 *
 * These routes read the session cookie and nothing else; the agent API (`/v1/*`, `/metrics`)
 * reads `Authorization` only, so a session is never a credential there. A session acts as the
 * principal whose credential opened it, checked with the same `authorize` as the API: a
 * read-only credential's session cannot resolve. Every request passes the Host and Origin checks
 * of the API; every state-changing one is a POST that also carries the session's CSRF token.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Hono, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { authorize, type Principal } from '../../core/credential.ts';
import { describeZodError, relativePathSchema, workspaceNameSchema } from '../../core/protocol.ts';
import type { Authenticator } from '../access.ts';
import { checkHost, checkOrigin } from '../origin.ts';
import { resolveConflicts, type SettleDeps, SettleError } from '../settle.ts';
import { actorOf } from '../settle-routes.ts';
import { contentSecurityPolicy, dashboardPage, loginPage } from './page.ts';
import { renderSections } from './render.ts';
import { csrfMatches, type Session, SessionBook } from './sessions.ts';
import { dashboardData, type SnapshotDeps } from './snapshot.ts';
import { SnapshotFeed } from './snapshot-feed.ts';

export const SESSION_COOKIE = 'warmsync_session';
/** How often the event stream sends a snapshot. */
const SNAPSHOT_EVERY_MS = 1000;

export interface DashboardDeps extends SnapshotDeps {
  authenticator: Authenticator;
  settle: SettleDeps;
  allowedHosts: readonly string[];
  sessions?: SessionBook;
  reject: (reason: string) => void;
}

export interface Dashboard {
  /** A single-use login code for the admin, for the URL `serve` prints (see SessionBook). */
  issueLoginCode(): Promise<string>;
  sessions: SessionBook;
}

const resolveBodySchema = z.object({
  workspace: workspaceNameSchema,
  path: relativePathSchema,
  keep: z.enum(['current', 'copy', 'both']),
});

/** Adds the dashboard's routes to `app`. */
export function mountDashboard(app: Hono, deps: DashboardDeps): Dashboard {
  const sessions = deps.sessions ?? new SessionBook(deps.store.sessions);
  const sessionOf = new WeakMap<Request, Session>();
  const feed = new SnapshotFeed(
    async (principal) => {
      const data = await dashboardData(deps, principal);
      return JSON.stringify({ data, sections: renderSections(data) });
    },
    { maxAgeMs: SNAPSHOT_EVERY_MS - 100 },
  );

  /** The session of a request, or undefined; a revoked credential's session ends here. */
  const lookup = async (c: Context): Promise<Session | undefined> => {
    const session = await sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) return undefined;
    if (!(await stillValid(session.principal))) {
      await sessions.end(session.id);
      return undefined;
    }
    return session;
  };
  const stillValid = async (principal: Principal): Promise<boolean> => {
    if (principal.kind === 'admin') return true;
    const credential = await deps.store.access.credential(principal.id);
    return credential !== undefined && !credential.revokedAt;
  };
  const refuse = (c: Context, status: 401 | 403, error: string, message: string) => {
    deps.reject(error === 'unauthorised' ? 'unauthorised' : 'forbidden');
    return c.json({ error, message }, status);
  };

  const browserChecks = async (c: Context, next: Next) => {
    const host = c.req.header('host');
    const verdict = checkHost(host, deps.allowedHosts);
    const origin = verdict.ok ? checkOrigin(c.req.header('origin'), host) : verdict;
    if (!origin.ok) return refuse(c, 403, 'forbidden', origin.message);
    await next();
    c.header('x-content-type-options', 'nosniff');
    // Same-origin, not no-referrer: under no-referrer a form's POST carries `Origin: null`.
    c.header('referrer-policy', 'same-origin');
    c.header('cache-control', 'no-store');
    c.header('x-frame-options', 'DENY');
  };
  /** Runs the route with a session, else answers 401 (or sends a page to the login form). */
  const needSession = (page: boolean) => async (c: Context, next: Next) => {
    const session = await lookup(c);
    if (!session) {
      if (page) return c.redirect('/login', 302);
      return refuse(c, 401, 'unauthorised', 'log in first (GET /login)');
    }
    sessionOf.set(c.req.raw, session);
    await next();
  };
  const needCsrf = async (c: Context, next: Next) => {
    const session = sessionOf.get(c.req.raw);
    const form = c.req.header('content-type')?.startsWith('application/x-www-form-urlencoded')
      ? (await c.req.parseBody()).csrf
      : undefined;
    const presented = c.req.header('x-csrf-token') ?? (typeof form === 'string' ? form : undefined);
    if (!session || !csrfMatches(session, presented))
      return refuse(c, 403, 'forbidden', 'missing or wrong CSRF token; reload the page');
    await next();
  };
  const small = bodyLimit({
    maxSize: 16 * 1024,
    onError: (c) => c.json({ error: 'too-large', message: 'request body is over 16 KiB' }, 413),
  });
  const html = (c: Context, body: (nonce: string) => string, status: 200 | 401 = 200) => {
    const nonce = randomBytes(16).toString('base64');
    return c.html(body(nonce), status, { 'content-security-policy': contentSecurityPolicy(nonce) });
  };
  const startSession = (c: Context, session: Session) => {
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:',
      path: '/',
      expires: new Date(session.expiresAt),
    });
    return c.redirect('/', 303);
  };

  for (const path of ['/', '/login', '/logout', '/dashboard/*']) app.use(path, browserChecks);
  for (const path of ['/login', '/logout', '/dashboard/resolve']) app.use(path, small);

  app.get('/', needSession(true), async (c) => {
    const session = sessionOf.get(c.req.raw) as Session;
    const data = await dashboardData(deps, session.principal);
    return html(c, (nonce) => dashboardPage(nonce, session.csrf, data));
  });

  app.get('/login', async (c) => {
    const code = c.req.query('code');
    if (code === undefined) return html(c, (nonce) => loginPage(nonce));
    const session = await sessions.redeemCode(code);
    if (!session) {
      deps.reject('unauthorised');
      return html(
        c,
        (nonce) =>
          loginPage(nonce, 'That login link was used already or has expired; paste a credential instead.'),
        401,
      );
    }
    return startSession(c, session);
  });

  app.post('/login', async (c) => {
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    const principal = token ? await deps.authenticator.principal(`Bearer ${token}`) : undefined;
    if (!principal) {
      deps.reject('unauthorised');
      return html(c, (nonce) => loginPage(nonce, 'That credential is not one this hub knows.'), 401);
    }
    return startSession(c, await sessions.create(principal));
  });

  app.post('/logout', needSession(false), needCsrf, async (c) => {
    const session = sessionOf.get(c.req.raw) as Session;
    await sessions.end(session.id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  app.get('/dashboard/snapshot', needSession(false), async (c) => {
    const session = sessionOf.get(c.req.raw) as Session;
    return c.json(await dashboardData(deps, session.principal));
  });

  app.get('/dashboard/events', needSession(false), (c) => {
    const session = sessionOf.get(c.req.raw) as Session;
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      while (open && !stream.aborted) {
        // The session may end meanwhile (logout, expiry, a revoked credential): the page then
        // goes to the login form rather than showing what it may no longer read.
        if ((await sessions.get(session.id)) === undefined || !(await stillValid(session.principal))) {
          await sessions.end(session.id);
          await stream.writeSSE({ event: 'end', data: 'session ended' });
          return;
        }
        await stream.writeSSE({ event: 'snapshot', data: await feed.latest(session.principal) });
        await stream.sleep(SNAPSHOT_EVERY_MS);
      }
    });
  });

  app.post('/dashboard/resolve', needSession(false), needCsrf, async (c) => {
    const session = sessionOf.get(c.req.raw) as Session;
    const parsed = resolveBodySchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      deps.reject('malformed');
      return c.json({ error: 'bad-request', message: describeZodError(parsed.error) }, 400);
    }
    const { workspace, path, keep } = parsed.data;
    const verdict = authorize(session.principal, { type: 'write', workspace });
    if (!verdict.ok) return refuse(c, 403, 'forbidden', verdict.message);
    try {
      const { head, results } = await resolveConflicts(
        deps.settle,
        workspace,
        { paths: [path], keep },
        actorOf(session.principal),
      );
      return c.json({ head, results });
    } catch (error) {
      if (!(error instanceof SettleError)) throw error;
      return c.json(
        { error: error.code, message: error.message },
        error.code === 'busy' || error.code === 'blocked' ? 409 : 404,
      );
    }
  });

  return { sessions, issueLoginCode: () => sessions.issueCode({ kind: 'admin' }) };
}
