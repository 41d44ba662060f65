import { describe, expect, it } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeableText, mergeText, splitLines } from '../../src/core/merge-text.ts';

describe('mergeText', () => {
  const table: [name: string, base: string, ours: string, theirs: string, merged: string | undefined][] = [
    ['edits far apart', 'a\nb\nc\nd\ne\n', 'A\nb\nc\nd\ne\n', 'a\nb\nc\nd\nE\n', 'A\nb\nc\nd\nE\n'],
    [
      'an insertion and a distant edit',
      'a\nb\nc\nd\n',
      'a\nnew\nb\nc\nd\n',
      'a\nb\nc\nD\n',
      'a\nnew\nb\nc\nD\n',
    ],
    ['a deletion and a distant edit', 'a\nb\nc\nd\n', 'b\nc\nd\n', 'a\nb\nc\nD\n', 'b\nc\nD\n'],
    ['the same edit on both sides', 'a\nb\nc\n', 'a\nB\nc\n', 'a\nB\nc\n', 'a\nB\nc\n'],
    ['one side unchanged', 'a\nb\n', 'a\nb\n', 'a\nB\n', 'a\nB\n'],
    ['the same line edited two ways', 'a\nb\nc\n', 'a\nX\nc\n', 'a\nY\nc\n', undefined],
    ['edits on adjacent lines', 'a\nb\nc\nd\n', 'a\nB\nc\nd\n', 'a\nb\nC\nd\n', undefined],
    ['two insertions at one place', 'a\nb\n', 'a\nx\nb\n', 'a\ny\nb\n', undefined],
    ['an edit inside a deleted block', 'a\nb\nc\nd\ne\n', 'a\ne\n', 'a\nb\nC\nd\ne\n', undefined],
    [
      'CRLF lines',
      'a\r\nb\r\nc\r\nd\r\n',
      'A\r\nb\r\nc\r\nd\r\n',
      'a\r\nb\r\nc\r\nD\r\n',
      'A\r\nb\r\nc\r\nD\r\n',
    ],
    ['no final newline, edit at the top', 'a\nb\nc\nd', 'A\nb\nc\nd', 'a\nb\nc\nD', 'A\nb\nc\nD'],
    ['an empty base, both add', '', 'x\n', 'y\n', undefined],
  ];
  for (const [name, base, ours, theirs, merged] of table)
    it(`${name}: ${merged === undefined ? 'conflict' : 'merged'}`, () => {
      const result = mergeText(base, ours, theirs);
      if (merged === undefined) expect(result.clean).toBe(false);
      else expect(result).toEqual({ clean: true, text: merged });
      // The merge does not depend on which side is which.
      expect(mergeText(base, theirs, ours)).toEqual(
        result.clean ? result : expect.objectContaining({ clean: false }),
      );
    });

  it('keeps line endings when splitting', () => {
    expect(splitLines('a\r\nb\nc')).toEqual(['a\r\n', 'b\n', 'c']);
    expect(splitLines('')).toEqual([]);
  });
});

describe('mergeableText', () => {
  it('takes UTF-8 text and refuses binary, invalid UTF-8 and big files', () => {
    expect(mergeableText(new TextEncoder().encode('héllo\n'))).toBe('héllo\n');
    expect(mergeableText(new Uint8Array([104, 0, 105]))).toBeUndefined();
    expect(mergeableText(new Uint8Array([0xff, 0xfe, 0x41]))).toBeUndefined();
    expect(mergeableText(new Uint8Array(11).fill(65), 10)).toBeUndefined();
  });
});

/**
 * Real concurrent edits from tj/commander.js's history (scripts/merge-pairs/extract.ts made the
 * fixture), of two kinds:
 * - merge: a merge commit whose parents both changed a file: base at the merge base, ours and
 *   theirs at the parents, final as the author committed the merge;
 * - sequential: two consecutive commits to a file: ours is the first's change, theirs the
 *   second's applied alone to the same base, final the file after both.
 * A clean merge must be exactly final, or, where the merge commit changed more than either side,
 * exactly what git merge-file makes of the pair; a conflict keeps copies.
 */
describe('mergeText on real commit pairs', () => {
  interface Pair {
    kind: 'merge' | 'sequential';
    path: string;
    first: string;
    second: string;
    base: string;
    ours: string;
    theirs: string;
    final: string;
  }
  const fixture = JSON.parse(
    new TextDecoder().decode(
      Bun.gunzipSync(readFileSync(join(import.meta.dir, '..', 'fixtures', 'merge-pairs.json.gz'))),
    ),
  ) as { repo: string; head: string; pairs: Pair[] };

  /** git merge-file's clean merge of the pair, or undefined when git finds a conflict. */
  const gitMerge = (pair: Pair): string | undefined => {
    const dir = mkdtempSync(join(tmpdir(), 'warmsync-merge-'));
    try {
      for (const side of ['base', 'ours', 'theirs'] as const) writeFileSync(join(dir, side), pair[side]);
      const run = Bun.spawnSync(
        ['git', 'merge-file', '-p', join(dir, 'ours'), join(dir, 'base'), join(dir, 'theirs')],
        {
          stdout: 'pipe',
        },
      );
      return run.exitCode === 0 ? run.stdout.toString() : undefined;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  for (const kind of ['merge', 'sequential'] as const)
    it(`merges disjoint ${kind} edits into exactly the file both made, and keeps overlapping ones as conflicts`, () => {
      const pairs = fixture.pairs.filter((pair) => pair.kind === kind);
      let merged = 0;
      let conflicts = 0;
      let authorChanged = 0;
      for (const pair of pairs) {
        const result = mergeText(pair.base, pair.ours, pair.theirs);
        expect(mergeText(pair.base, pair.theirs, pair.ours).clean).toBe(result.clean);
        if (!result.clean) {
          conflicts++;
          continue;
        }
        merged++;
        if (result.text === pair.final) continue;
        // The author's merge differs: it must be the merge commit's own edit, so git merges alike.
        if (gitMerge(pair) !== result.text)
          throw new Error(
            `${pair.path} ${pair.first.slice(0, 8)}/${pair.second.slice(0, 8)}: merged otherwise than the author and git`,
          );
        authorChanged++;
      }
      console.log(
        `${kind} pairs from ${fixture.repo}: ${pairs.length} tried, ${merged} merged (${merged - authorChanged} equal to the committed result, ${authorChanged} equal to git merge-file's where the merge commit changed more), ${conflicts} kept as conflict copies`,
      );
      expect(pairs.length).toBeGreaterThanOrEqual(70);
      expect(merged).toBeGreaterThan(0);
      if (kind === 'merge') expect(conflicts).toBeGreaterThan(0);
    });
});
