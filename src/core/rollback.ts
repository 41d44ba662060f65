/**
 * What an agent still knows after the hub went back (a new epoch, or a head below its cursor):
 * its bases say what the hub *held*, and the hub may no longer hold it. Pure, with a table test.
 */
import { DELETED, sameContent } from './entry.ts';
import type { BaseVersion } from './reconcile.ts';
import { compareVectors } from './vector.ts';

/**
 * The base to reconcile with once the hub's latest version of the path (`hub`, undefined when the
 * hub has none) is known again.
 *
 * A base the hub still holds, or has moved past, stays as it is. Otherwise the base takes the
 * hub's content under its own vector: whatever the disk holds that differs from what the hub now
 * has is then a local edit, pushed with a vector that dominates the hub's older one, so the
 * versions the hub lost come back from the agents that had them, and nothing newer is overwritten.
 */
export function baseAfterRollback(base: BaseVersion, hub: BaseVersion | undefined): BaseVersion {
  if (hub) {
    const order = compareVectors(hub.vector, base.vector);
    if (order === 'after') return base;
    if (order === 'equal' && sameContent(hub.content, base.content)) return base;
  }
  return { content: hub?.content ?? DELETED, vector: base.vector };
}
