/**
 * Predicts which files will change next from which files changed together before: association
 * rules {a} -> {b} mined from commits, as in ROSE (Zimmermann et al., "Mining Version Histories to
 * Guide Software Changes", ICSE 2004), blended with recency so that recent habits count more.
 * Pure and incremental: the model learns one commit at a time, so a replay of thousands of commits
 * costs one pass.
 */

/** One ranked guess: the file, its blended score and the rule's raw figures. */
export interface Prediction {
  file: string;
  score: number;
  /** Commits in which the best antecedent and this file changed together. */
  support: number;
  /** support / commits that changed the best antecedent. */
  confidence: number;
}

/** A model that learns from commits in time order and ranks the files likely to change next. */
export interface ChangePredictor {
  /** Learns one commit's changed files; returns false when the commit was skipped as too large. */
  learn(files: readonly string[]): boolean;
  /** Up to `limit` files, best first, never one of `changed`. */
  predict(changed: readonly string[], limit: number): Prediction[];
}

/** Tuning for {@link createCoChangeModel}; every field has a default. */
export interface CoChangeOptions {
  /** Commits touching more files than this are skipped (mass renames, formatting). Default 30. */
  maxFilesPerCommit?: number;
  /** Least support a rule needs to be used. Default 1. */
  minSupport?: number;
  /** Least confidence a rule needs to be used. Default 0. */
  minConfidence?: number;
  /** Weight of recency-weighted confidence in the score, 0..1. Default 0.5. */
  recencyWeight?: number;
  /** Commits after which a co-change counts half as much in the recency term. Default 100. */
  halfLifeCommits?: number;
}

/** A count that halves every `halfLife` commits, stored with the commit it was last brought up to. */
interface Decaying {
  value: number;
  at: number;
}

interface Counts {
  /** Commits that changed this file, or both files for a pair. */
  count: number;
  recent: Decaying;
}

/**
 * A co-change model. For each file b not yet changed, the rule {a} -> {b} with a in `changed` that
 * scores best is used; its score is
 * `(1 - w) * confidence + w * recentConfidence`, where recentConfidence is the same ratio with
 * every commit weighted by 2^(-age / halfLife). Ties go to higher support, then to the file name.
 *
 * @example
 * const model = createCoChangeModel();
 * model.learn(['a.ts', 'a.test.ts']);
 * model.predict(['a.ts'], 10)[0]?.file; // 'a.test.ts'
 */
export function createCoChangeModel(options: CoChangeOptions = {}): ChangePredictor {
  const maxFiles = options.maxFilesPerCommit ?? 30;
  const minSupport = options.minSupport ?? 1;
  const minConfidence = options.minConfidence ?? 0;
  const weight = options.recencyWeight ?? 0.5;
  const decayPerCommit = 2 ** (-1 / (options.halfLifeCommits ?? 100));
  const files = new Map<string, Counts>();
  const pairs = new Map<string, Map<string, Counts>>();
  let now = 0;

  const current = (recent: Decaying): number => recent.value * decayPerCommit ** (now - recent.at);
  const bump = (counts: Counts): void => {
    counts.count++;
    counts.recent = { value: current(counts.recent) + 1, at: now };
  };
  const fresh = (): Counts => ({ count: 0, recent: { value: 0, at: now } });

  return {
    learn(changed) {
      const unique = [...new Set(changed)];
      if (unique.length === 0 || unique.length > maxFiles) return false;
      now++;
      for (const a of unique) {
        const own = files.get(a) ?? fresh();
        bump(own);
        files.set(a, own);
        let row = pairs.get(a);
        if (row === undefined) {
          row = new Map();
          pairs.set(a, row);
        }
        for (const b of unique) {
          if (a === b) continue;
          const pair = row.get(b) ?? fresh();
          bump(pair);
          row.set(b, pair);
        }
      }
      return true;
    },

    predict(changed, limit) {
      const given = new Set(changed);
      const best = new Map<string, Prediction>();
      for (const a of given) {
        const own = files.get(a);
        const row = pairs.get(a);
        if (own === undefined || row === undefined) continue;
        const ownRecent = current(own.recent);
        for (const [b, pair] of row) {
          if (given.has(b) || pair.count < minSupport) continue;
          const confidence = pair.count / own.count;
          if (confidence < minConfidence) continue;
          const recentConfidence = ownRecent > 0 ? current(pair.recent) / ownRecent : 0;
          const score = (1 - weight) * confidence + weight * recentConfidence;
          const previous = best.get(b);
          if (
            previous === undefined ||
            better({ file: b, score, support: pair.count, confidence }, previous)
          ) {
            best.set(b, { file: b, score, support: pair.count, confidence });
          }
        }
      }
      return [...best.values()].sort(compare).slice(0, limit);
    },
  };
}

function compare(x: Prediction, y: Prediction): number {
  return y.score - x.score || y.support - x.support || (x.file < y.file ? -1 : x.file > y.file ? 1 : 0);
}

function better(candidate: Prediction, incumbent: Prediction): boolean {
  return compare(candidate, incumbent) < 0;
}

/**
 * The baseline: predicts the files changed most recently, latest commit first, whatever was
 * changed now. Skips the same oversized commits as the co-change model so the two see one history.
 */
export function createRecencyModel(
  options: Pick<CoChangeOptions, 'maxFilesPerCommit'> = {},
): ChangePredictor {
  const maxFiles = options.maxFilesPerCommit ?? 30;
  const commits: string[][] = [];
  return {
    learn(changed) {
      const unique = [...new Set(changed)];
      if (unique.length === 0 || unique.length > maxFiles) return false;
      commits.push(unique);
      return true;
    },
    predict(changed, limit) {
      const given = new Set(changed);
      const picked = new Set<string>();
      const predictions: Prediction[] = [];
      for (let i = commits.length - 1; i >= 0 && predictions.length < limit; i--) {
        for (const file of commits[i] ?? []) {
          if (given.has(file) || picked.has(file) || predictions.length >= limit) continue;
          picked.add(file);
          // Score falls with the age of the commit, so later commits rank first.
          predictions.push({ file, score: 1 / (commits.length - i), support: 0, confidence: 0 });
        }
      }
      return predictions;
    },
  };
}
