/**
 * A path's decision under its sync mode: the two-way decision of reconcile.ts, bent by what the
 * mode allows (see sync-mode.ts). Pure, so every (mode, decision) pair is a row in a table test.
 *
 * Invariants kept from reconcile.ts: nothing is written over a local edit unless the mode is
 * `replica`, whose whole promise is to overwrite; a send-only path never writes a remote version.
 * A mode never reacts to a remote change by pushing, so two agents with conflicting modes on one
 * path cannot ping-pong.
 */
import { DELETED, type EntryContent } from './entry.ts';
import type { BaseVersion, Decision, RemoteVersion } from './reconcile.ts';
import type { ModePolicy } from './sync-mode.ts';
import { incrementVector, mergeVectors, type VersionVector } from './vector.ts';

export type ModeDecision =
  | Decision
  /** A local edit the mode keeps local (receive-only): listed, never pushed, never written over. */
  | { type: 'keep-local' }
  /** A remote version the mode does not write here (send-only): listed, the cursor moves on. */
  | { type: 'skip-remote' }
  /**
   * Replace the local edit with the workspace's version (replica): `remote` when the hub
   * announced a newer one, else the base; `DELETED` when the workspace has no such path.
   */
  | { type: 'overwrite'; content: EntryContent; vector: VersionVector; fromRemote: boolean };

/**
 * The decision for one path under `policy`, from reconcile's two-way `decision` and the same
 * three versions it was made from.
 */
export function decideUnderMode(
  policy: ModePolicy,
  decision: Decision,
  agentId: string,
  base: BaseVersion | undefined,
  remote: RemoteVersion | undefined,
): ModeDecision {
  switch (decision.type) {
    case 'nothing':
    case 'adopt':
      // Agreement needs no direction.
      return decision;
    case 'apply':
      return policy.apply ? decision : { type: 'skip-remote' };
    case 'push': {
      if (policy.overwriteLocal) {
        const source = remote ?? base;
        return {
          type: 'overwrite',
          content: source?.content ?? DELETED,
          vector: source?.vector ?? {},
          fromRemote: remote !== undefined,
        };
      }
      if (!policy.push) return { type: 'keep-local' };
      if (policy.apply || remote === undefined) return decision;
      // Send-only is the source of its paths: its edit supersedes the version it was told of
      // (a recreated container's fresh node_modules replaces the old one without conflict
      // copies; the replaced version stays in the hub's history).
      return {
        type: 'push',
        content: decision.content,
        vector: incrementVector(mergeVectors(base?.vector ?? {}, remote.vector), agentId),
      };
    }
  }
}
