#!/usr/bin/env bun
/**
 * Extracts pairs of real concurrent edits from a git repository, for the three-way merge test.
 *
 * Merges: for a merge commit M whose two parents both changed a file F since their merge base,
 * the pair is base = F at the merge base, ours and theirs = F at each parent, final = F at M (as
 * the author resolved it). These are truly concurrent edits, overlapping ones included.
 *
 * Sequential edits:
 * For two consecutive commits C1, C2 (first-parent history) that both modify a file F, the pair
 * is: base = F before C1, ours = F after C1, theirs = C2's change alone applied to base (with
 * `patch --fuzz=0`; pairs where C2's change does not apply without C1's are skipped), and final
 * = F after C2. When the two changes are disjoint, merging ours and theirs must give final.
 *
 * Usage: bun scripts/merge-pairs/extract.ts REPO_DIR OUT.json.gz [--pairs N] [--max-bytes B] [--name OWNER/REPO]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mergeableText } from '../../src/core/merge-text.ts';

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    pairs: { type: 'string', default: '120' },
    'max-bytes': { type: 'string', default: '12000' },
    name: { type: 'string', default: 'tj/commander.js' },
  },
  allowPositionals: true,
});
if (positionals.length !== 2) {
  console.error('usage: bun scripts/merge-pairs/extract.ts REPO_DIR OUT.json.gz [--pairs N] [--max-bytes B]');
  process.exit(2);
}
const [repo, out] = positionals as [string, string];
const wanted = Number(values.pairs);
const maxBytes = Number(values['max-bytes']);

function git(...args: string[]): string {
  const result = Bun.spawnSync(['git', '-C', repo, ...args], { stdout: 'pipe', stderr: 'pipe' });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

function show(commit: string, path: string): string | undefined {
  const result = Bun.spawnSync(['git', '-C', repo, 'show', `${commit}:${path}`], {
    stdout: 'pipe',
    stderr: 'pipe',
  });
  if (result.exitCode !== 0) return undefined;
  const bytes = result.stdout as Uint8Array;
  return mergeableText(bytes, maxBytes);
}

const work = mkdtempSync(join(tmpdir(), 'merge-pairs-'));
/** C2's change alone (ours -> final), applied to base with no fuzz; undefined when it does not apply. */
function theirsOf(base: string, ours: string, final: string): string | undefined {
  writeFileSync(join(work, 'base'), base);
  writeFileSync(join(work, 'ours'), ours);
  writeFileSync(join(work, 'final'), final);
  const diff = Bun.spawnSync(['diff', '-u', join(work, 'ours'), join(work, 'final')], { stdout: 'pipe' });
  writeFileSync(join(work, 'diff'), diff.stdout as Uint8Array);
  const applied = Bun.spawnSync(
    [
      'patch',
      '--fuzz=0',
      '--quiet',
      '--force',
      '-o',
      join(work, 'theirs'),
      join(work, 'base'),
      join(work, 'diff'),
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  if (applied.exitCode !== 0) return undefined;
  return readFileSync(join(work, 'theirs'), 'utf8');
}

const head = git('rev-parse', 'HEAD').trim();
const merges: unknown[] = [];
for (const line of git('log', '--merges', '--format=%H %P').split('\n')) {
  if (merges.length >= wanted) break;
  const [merge, left, right] = line.split(' ');
  if (!merge || !left || !right) continue;
  const found = Bun.spawnSync(['git', '-C', repo, 'merge-base', left, right], { stdout: 'pipe' });
  const mergeBase = found.stdout.toString().trim();
  if (found.exitCode !== 0 || !mergeBase) continue;
  const changed = (from: string, to: string) =>
    new Set(git('diff', '--name-only', '--no-renames', from, to).split('\n').filter(Boolean));
  const onRight = changed(mergeBase, right);
  for (const path of changed(mergeBase, left)) {
    if (!onRight.has(path) || merges.length >= wanted) continue;
    const [base, ours, theirs, final] = [mergeBase, left, right, merge].map((c) => show(c, path));
    if (base === undefined || ours === undefined || theirs === undefined || final === undefined) continue;
    if (ours === theirs || ours === base || theirs === base) continue;
    merges.push({ kind: 'merge', path, first: left, second: right, base, ours, theirs, final });
  }
}
const log = git('log', '--reverse', '--first-parent', '--format=@%H %P', '--name-status', '--no-renames');
const lastTouch = new Map<string, string>();
const pairs: unknown[] = [];
let tried = 0;
let commit = '';
let parent = '';
for (const line of log.split('\n')) {
  if (pairs.length >= wanted) break;
  if (line.startsWith('@')) {
    [commit, parent = ''] = line.slice(1).split(' ') as [string, string?];
    continue;
  }
  const [status, path] = line.split('\t');
  if (!path || !parent) continue;
  if (status !== 'M') {
    lastTouch.delete(path);
    if (status === 'A') lastTouch.set(path, commit);
    continue;
  }
  const first = lastTouch.get(path);
  lastTouch.set(path, commit);
  if (!first) continue;
  const base = show(`${first}^`, path);
  const ours = show(first, path);
  const final = show(commit, path);
  if (base === undefined || ours === undefined || final === undefined) continue;
  if (base === ours || ours === final) continue;
  tried++;
  const theirs = theirsOf(base, ours, final);
  // Skipped: C2's change needs C1's, or undoes it (then there is nothing concurrent to merge).
  if (theirs === undefined || theirs === base || theirs === final) continue;
  pairs.push({ kind: 'sequential', path, first, second: commit, base, ours, theirs, final });
}
rmSync(work, { recursive: true, force: true });
const json = JSON.stringify({ repo: values.name, head, pairs: [...merges, ...pairs] });
writeFileSync(out, Bun.gzipSync(new TextEncoder().encode(json), { level: 9 }));
console.log(
  `${merges.length} merge pairs and ${pairs.length} sequential pairs (of ${tried} consecutive edits looked at) from ${head} written to ${out}`,
);
