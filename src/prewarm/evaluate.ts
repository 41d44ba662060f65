/**
 * Scores a change predictor by replaying history: for every commit, in time order, the predictor
 * has learned only the commits before it, is given the commit's first changed file, and its top
 * suggestions are checked against the rest of the commit. This is ROSE's navigation protocol.
 */
import type { ChangePredictor } from './cochange.ts';

/** Averages over the queried commits; rates are fractions in 0..1. */
export interface ReplayScore {
  /** Commits learned (not skipped as too large). */
  commitsLearned: number;
  /** Commits queried: learned commits with at least two files. */
  queries: number;
  /** Share of queries for which the predictor suggested anything. */
  coverage: number;
  /** Mean over queries with suggestions of correct / suggested. */
  precision: number;
  /** Mean over all queries of correct / (files in the commit - 1). */
  recall: number;
  /** Share of queries with at least one correct suggestion in the top `limit`. */
  hitRate: number;
  /** Share of queries with a correct suggestion among the top three. */
  hitRateTop3: number;
}

/** Options for {@link replay}. */
export interface ReplayOptions {
  /** Suggestions scored per query. Default 10. */
  limit?: number;
}

/**
 * Replays `commits` (oldest first, each a list of changed paths) through `predictor`, querying
 * before learning so no commit ever helps predict itself. The predictor's own size limit decides
 * which commits count: a commit it refuses to learn is not queried either.
 *
 * @example
 * replay([['a', 'b'], ['a', 'b']], createCoChangeModel()).hitRate; // 0.5: the first query knows nothing
 */
export function replay(
  commits: readonly (readonly string[])[],
  predictor: ChangePredictor,
  options: ReplayOptions = {},
): ReplayScore {
  const limit = options.limit ?? 10;
  let commitsLearned = 0;
  let queries = 0;
  let withSuggestions = 0;
  let precisionSum = 0;
  let recallSum = 0;
  let hits = 0;
  let hitsTop3 = 0;
  for (const commit of commits) {
    const files = [...new Set(commit)];
    const [first, ...rest] = files;
    const predictions =
      first !== undefined && rest.length > 0 ? predictor.predict([first], limit) : undefined;
    if (!predictor.learn(files)) continue;
    commitsLearned++;
    if (predictions === undefined) continue;
    queries++;
    const expected = new Set(rest);
    const correct = predictions.filter((p) => expected.has(p.file)).length;
    recallSum += correct / expected.size;
    if (predictions.length > 0) {
      withSuggestions++;
      precisionSum += correct / predictions.length;
    }
    if (correct > 0) hits++;
    if (predictions.slice(0, 3).some((p) => expected.has(p.file))) hitsTop3++;
  }
  const share = (n: number, of: number): number => (of === 0 ? 0 : n / of);
  return {
    commitsLearned,
    queries,
    coverage: share(withSuggestions, queries),
    precision: share(precisionSum, withSuggestions),
    recall: share(recallSum, queries),
    hitRate: share(hits, queries),
    hitRateTop3: share(hitsTop3, queries),
  };
}
