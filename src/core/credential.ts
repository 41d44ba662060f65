/**
 * Who may do what on a hub. Pure: the HTTP edge authenticates a request into a `Principal` and
 * asks `authorize` about the access the route needs; the table test walks every combination.
 *
 * Two kinds of credential exist. The admin credential (made on first start, or `serve --token`)
 * may do everything. A workspace credential (`warmsync token create`) opens one workspace, read
 * only or read-write, and belongs to one agent: the first agent id that uses it is bound to it,
 * so a holder cannot push or report as another agent.
 */

export type Principal =
  | { kind: 'admin' }
  | {
      kind: 'workspace';
      /** The credential's public id (what `token list` shows and `token revoke` takes). */
      id: string;
      workspace: string;
      readOnly: boolean;
      /** The agent id bound to this credential, once one has used it. */
      agent?: string;
    };

export type Access =
  /** Read a workspace: its changes, live feed, snapshots, its own status. */
  | { type: 'read'; workspace: string }
  /** Change a workspace: push, upload a snapshot. */
  | { type: 'write'; workspace: string }
  /** Act as an agent of a workspace (the agent id a push or a live connection names). */
  | { type: 'agent'; workspace: string; agent: string; write: boolean }
  /** Whole-hub views and management: every workspace's status, metrics, credentials. */
  | { type: 'admin' };

export type Verdict =
  | { ok: true; bindAgent?: string }
  | { ok: false; status: 403; error: 'forbidden'; message: string };

const forbidden = (message: string): Verdict => ({ ok: false, status: 403, error: 'forbidden', message });

export function authorize(principal: Principal, access: Access): Verdict {
  if (principal.kind === 'admin') return { ok: true };
  if (access.type === 'admin') return forbidden('this needs the admin credential');
  if (access.workspace !== principal.workspace)
    return forbidden(`this credential opens workspace ${principal.workspace} only`);
  const writes = access.type === 'write' || (access.type === 'agent' && access.write);
  if (writes && principal.readOnly) return forbidden('this credential is read-only');
  if (access.type !== 'agent') return { ok: true };
  if (principal.agent === undefined) return { ok: true, bindAgent: access.agent };
  if (principal.agent !== access.agent)
    return forbidden(
      `this credential belongs to agent ${principal.agent}; make one credential per agent (warmsync token create)`,
    );
  return { ok: true };
}

/** Workspace credentials look like `wst_<16 hex id>_<43 base64url secret>` (256 secret bits). */
const TOKEN_PATTERN = /^wst_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function formatWorkspaceToken(id: string, secret: string): string {
  return `wst_${id}_${secret}`;
}

/** The id and secret of a workspace credential, or undefined for anything else. */
export function parseWorkspaceToken(token: string): { id: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}
