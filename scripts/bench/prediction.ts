#!/usr/bin/env bun
/**
 * Prediction-quality benchmark: replays a repository's history through the co-change model and
 * the recency-only baseline (ROSE's navigation protocol: given a commit's first changed file,
 * suggest 10 more) and prints a Markdown table.
 *
 * Usage: bun scripts/bench/prediction.ts <git-repo-path> [--commits N]
 */
import { parseArgs } from 'node:util';
import { type ChangePredictor, createCoChangeModel, createRecencyModel } from '../../src/prewarm/cochange.ts';
import { type ReplayScore, replay } from '../../src/prewarm/evaluate.ts';
import { readHistory } from '../../src/prewarm/history.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { commits: { type: 'string', default: '10000' } },
  allowPositionals: true,
});
const repository = positionals[0];
const maxCommits = Number(values.commits);
if (repository === undefined || !Number.isInteger(maxCommits) || maxCommits < 1) {
  console.error('usage: bun scripts/bench/prediction.ts <git-repo-path> [--commits N]');
  process.exit(2);
}

const readStart = performance.now();
const history = await readHistory(repository, { maxCommits });
const readMs = performance.now() - readStart;
const commits = history.map((commit) => commit.files);

const contenders: Array<[string, () => ChangePredictor]> = [
  ['co-change + recency (default)', () => createCoChangeModel()],
  ['co-change, confidence only', () => createCoChangeModel({ recencyWeight: 0 })],
  ['recency only (baseline)', () => createRecencyModel()],
];

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;
const rows: string[] = [];
let queries = 0;
let learned = 0;
for (const [name, build] of contenders) {
  const start = performance.now();
  const score: ReplayScore = replay(commits, build(), { limit: 10 });
  const ms = performance.now() - start;
  queries = score.queries;
  learned = score.commitsLearned;
  rows.push(
    `| ${name} | ${percent(score.precision)} | ${percent(score.recall)} | ${percent(score.hitRate)} | ${percent(score.hitRateTop3)} | ${percent(score.coverage)} | ${(ms / 1000).toFixed(2)} s |`,
  );
}

console.log(`Repository: ${repository}`);
console.log(
  `Commits read: ${commits.length} non-merge (git log ${(readMs / 1000).toFixed(2)} s); learned (<= 30 files): ${learned}; queried (>= 2 files): ${queries}`,
);
console.log('');
console.log(
  '| predictor | precision@10 | recall@10 | >=1 correct in top 10 | >=1 correct in top 3 | suggested anything | replay time |',
);
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
