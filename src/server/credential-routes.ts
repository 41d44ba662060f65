/**
 * Managing workspace credentials, admin only: `POST /v1/credentials` makes one (the token is in
 * the answer and nowhere else: the hub keeps only its hash), `GET /v1/credentials` lists them
 * without secrets, `DELETE /v1/credentials/:id` revokes one.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { type Access, formatWorkspaceToken } from '../core/credential.ts';
import { describeZodError, workspaceNameSchema } from '../core/protocol.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import { type Authenticator, secretHash } from './access.ts';
import type { AccessStore } from './store/credentials.ts';

export interface CredentialRouteDeps {
  access: AccessStore;
  authenticator: Authenticator;
  permit: (c: Context, access: Access) => Promise<Response | undefined>;
  metrics: ServerMetrics;
}

export const createCredentialSchema = z.object({
  workspace: workspaceNameSchema,
  readOnly: z.boolean().default(false),
  label: z.string().max(200).default(''),
});

const credentialIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'credential ids are 16 hex digits');

export function mountCredentialRoutes(app: Hono, deps: CredentialRouteDeps): void {
  const admin = { type: 'admin' } as const;
  const badRequest = (c: Context, message: string) => {
    deps.metrics.rejectedRequests.inc({ reason: 'malformed' });
    return c.json({ error: 'bad-request', message }, 400);
  };

  app.post('/v1/credentials', async (c) => {
    const denied = await deps.permit(c, admin);
    if (denied) return denied;
    const body = createCredentialSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) return badRequest(c, describeZodError(body.error));
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    await deps.access.createCredential({ id, secretHash: secretHash(secret), ...body.data });
    return c.json({ id, token: formatWorkspaceToken(id, secret), ...body.data }, 201);
  });

  app.get('/v1/credentials', async (c) => {
    const denied = await deps.permit(c, admin);
    if (denied) return denied;
    const credentials = await deps.access.credentials();
    return c.json({
      credentials: credentials.map(({ secretHash: _hidden, ...visible }) => visible),
    });
  });

  app.delete('/v1/credentials/:id', async (c) => {
    const denied = await deps.permit(c, admin);
    if (denied) return denied;
    const id = credentialIdSchema.safeParse(c.req.param('id'));
    if (!id.success) return badRequest(c, describeZodError(id.error));
    if (!(await deps.access.revokeCredential(id.data)))
      return c.json({ error: 'not-found', message: `no live credential has id ${id.data}` }, 404);
    deps.authenticator.forget(id.data);
    return c.json({ revoked: id.data });
  });
}
