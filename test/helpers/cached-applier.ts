import type { ApplierDeps } from '../../src/agent/applier.ts';
import type { ChunkCache } from '../../src/agent/chunk-cache.ts';
import { HubClient } from '../../src/agent/client.ts';
import type { Durability } from '../../src/agent/durability.ts';
import { Limiter } from '../../src/agent/limiter.ts';
import { CircuitBreaker } from '../../src/agent/transfer.ts';
import { EXACT_NAMES } from '../../src/core/folding.ts';

/**
 * An applier's dependencies for a folder on a case-sensitive disk, where every chunk of the batch
 * is already in `cache`: the hub (an unreachable loopback port) is never asked.
 */
export function cachedApplierDeps(
  root: string,
  cache: ChunkCache,
  durability: Durability,
  limit = 4,
): ApplierDeps {
  return {
    dir: root,
    folding: EXACT_NAMES,
    limiter: new Limiter(limit),
    durability,
    gather: {
      dir: root,
      baseOf: () => undefined,
      cache,
      client: new HubClient({ server: 'http://127.0.0.1:9', workspace: 'w', agentId: 'b' }),
      breaker: new CircuitBreaker(),
    },
  };
}
