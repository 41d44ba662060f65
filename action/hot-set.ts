/**
 * The predicted hot set of a push: the files it changed plus the files the co-change model
 * (src/prewarm/cochange.ts) expects to change with them, learnt from the repository's history.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCoChangeModel } from '../src/prewarm/cochange.ts';
import { readHistory } from '../src/prewarm/history.ts';
import { createPathFilter } from '../src/prewarm/path-filter.ts';

/** One file of the hot set and why it is there. */
export interface HotFile {
  path: string;
  /** `changed` by the push, or `predicted` with the rule's score, support and confidence. */
  reason: { kind: 'changed' } | { kind: 'predicted'; score: number; support: number; confidence: number };
}

/** Options of {@link predictHotSet}. */
export interface HotSetRequest {
  repoDir: string;
  /** The push's changed paths. */
  changed: readonly string[];
  /** Commits of history the model learns from. */
  historyDepth: number;
  /** At most this many predicted files. */
  limit: number;
}

/**
 * Learns the latest `historyDepth` commits oldest first and predicts from the changed files.
 * Paths under `.prewarm-ignore` and the always-ignored folders are left out; so are paths that no
 * longer exist in the checkout (deleted files need no dependencies).
 */
export async function predictHotSet(
  request: HotSetRequest,
): Promise<{ hot: HotFile[]; commitsLearnt: number }> {
  const ignoreFile = join(request.repoDir, '.prewarm-ignore');
  const filter = createPathFilter(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '');
  const history = await readHistory(request.repoDir, { maxCommits: request.historyDepth, filter });
  const model = createCoChangeModel();
  let commitsLearnt = 0;
  for (const commit of history) if (model.learn(commit.files)) commitsLearnt++;
  const changed = request.changed.filter((path) => !filter(path));
  const present = (path: string) => existsSync(join(request.repoDir, path));
  const hot: HotFile[] = changed.filter(present).map((path) => ({ path, reason: { kind: 'changed' } }));
  for (const prediction of model.predict(changed, request.limit)) {
    if (!present(prediction.file)) continue;
    const { score, support, confidence } = prediction;
    hot.push({ path: prediction.file, reason: { kind: 'predicted', score, support, confidence } });
  }
  return { hot, commitsLearnt };
}
