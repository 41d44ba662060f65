import type { Ecosystem } from './manifests.ts';

/**
 * Counts warm attempts and hits per ecosystem. The metrics module backs it with the
 * `workspace_prewarm_attempts_total` and `workspace_prewarm_hits_total` counters; tests and the
 * CLI can pass a plain tally. A hit is an attempt whose package ended up verified in the shared
 * cache.
 */
export interface PrewarmCounter {
  attempt(ecosystem: Ecosystem): void;
  hit(ecosystem: Ecosystem): void;
}

/** A counter that only keeps totals in memory, for the CLI's report and for tests. */
export function createTallyCounter(): PrewarmCounter & {
  attempts: Record<Ecosystem, number>;
  hits: Record<Ecosystem, number>;
} {
  const attempts: Record<Ecosystem, number> = { npm: 0, pypi: 0, go: 0 };
  const hits: Record<Ecosystem, number> = { npm: 0, pypi: 0, go: 0 };
  return {
    attempts,
    hits,
    attempt: (ecosystem) => {
      attempts[ecosystem]++;
    },
    hit: (ecosystem) => {
      hits[ecosystem]++;
    },
  };
}
