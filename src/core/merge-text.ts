/**
 * Three-way merge of concurrent edits to a text file, with diff3's meaning: each side's changes
 * against the common base, by lines; when no change of one side overlaps or touches a change of
 * the other, the merge is the base with both sets of changes applied. Anything else (overlap,
 * two insertions at one place, an edit next to an edit or only blank lines away) is a conflict, which sync keeps as a
 * conflict copy instead: a merge that guesses is how note-sync tools came to duplicate and
 * resurrect lines. The same change made on both sides counts once.
 *
 * The line diff is node-diff3's (its LCS, long used by editors); the rule for what merges is here.
 *
 * @example
 * mergeText('a\nb\nc\n', 'A\nb\nc\n', 'a\nb\nC\n'); // { clean: true, text: 'A\nb\nC\n' }
 */
import { diffIndices } from 'node-diff3';

export type TextMerge = { clean: true; text: string } | { clean: false; reason: string };

/** One side's change: base lines [start, end) become `lines`. */
interface Hunk {
  start: number;
  end: number;
  lines: string[];
  side: 'ours' | 'theirs';
}

/** Lines with their line endings, so CRLF and a missing final newline survive the merge. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/(?<=\n)/);
  return lines;
}

function hunksOf(base: string[], side: string[], name: Hunk['side']): Hunk[] {
  return diffIndices(base, side).map((d) => ({
    start: d.buffer1[0],
    end: d.buffer1[0] + d.buffer1[1],
    lines: d.buffer2Content,
    side: name,
  }));
}

const sameHunk = (a: Hunk, b: Hunk) =>
  a.start === b.start &&
  a.end === b.end &&
  a.lines.length === b.lines.length &&
  a.lines.every((l, i) => l === b.lines[i]);

/**
 * Whether two changes of different sides collide: their base ranges overlap or touch, or only
 * blank lines lie between them. A diff may slide a change across blank lines (an insertion
 * before or after the blank line is the same text), so such changes are only apart by chance of
 * alignment, and their order in the merge would be a guess.
 */
function collide(a: Hunk, b: Hunk, base: readonly string[]): boolean {
  const [first, second] = a.start <= b.start ? [a, b] : [b, a];
  if (second.start <= first.end) return true;
  for (let i = first.end; i < second.start; i++) if (base[i]!.trim() !== '') return false;
  return true;
}

/** Merges `ours` and `theirs`, both edited from `base`. */
export function mergeText(base: string, ours: string, theirs: string): TextMerge {
  if (ours === theirs) return { clean: true, text: ours };
  if (ours === base) return { clean: true, text: theirs };
  if (theirs === base) return { clean: true, text: ours };
  const baseLines = splitLines(base);
  const all = [
    ...hunksOf(baseLines, splitLines(ours), 'ours'),
    ...hunksOf(baseLines, splitLines(theirs), 'theirs'),
  ];
  all.sort((a, b) => a.start - b.start || a.end - b.end);
  const kept: Hunk[] = [];
  for (const hunk of all) {
    const clash = kept.find((other) => other.side !== hunk.side && collide(other, hunk, baseLines));
    if (clash) {
      if (sameHunk(clash, hunk)) continue;
      return {
        clean: false,
        reason: `both sides changed lines ${clash.start + 1}-${Math.max(clash.end, hunk.end)}`,
      };
    }
    kept.push(hunk);
  }
  const out: string[] = [];
  let at = 0;
  for (const hunk of kept) {
    for (; at < hunk.start; at++) out.push(baseLines[at]!);
    out.push(...hunk.lines);
    at = hunk.end;
  }
  for (; at < baseLines.length; at++) out.push(baseLines[at]!);
  const text = out.join('');
  // A merged last line that lost its newline to a neighbour's edit would glue two lines: refuse.
  if (out.slice(0, -1).some((line) => !line.endsWith('\n')))
    return { clean: false, reason: 'a line without a final newline would be joined to the next' };
  return { clean: true, text };
}

/** Files above this are not merged (a merge of big files is slow and rarely wanted). */
export const MERGE_MAX_BYTES = 1024 * 1024;

/** The text of `bytes` when it is UTF-8 text that may be merged, else undefined. */
export function mergeableText(bytes: Uint8Array, maxBytes = MERGE_MAX_BYTES): string | undefined {
  if (bytes.length > maxBytes || bytes.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
