/**
 * The sections of BENCHMARKS.md that a full run does not make: measurements of their own (the
 * cost sections, before-and-after comparisons), written between the generated table and "What
 * each bench does". A full run rewrites the table and keeps these as they are, so that
 * `npm run bench` never drops a measurement it did not repeat.
 */
import { readFileSync } from 'node:fs';

/** Headings the run itself writes; every other `## ` section of the old file is kept. */
const GENERATED = ['## What each bench does', '## How to reproduce'];

/**
 * The kept sections of `markdown`, each from its `## ` heading to the next one, in their order,
 * or '' when there are none.
 *
 * @example
 * keptSections('# B\n\ntable\n\n## Cost of X\n\nfigures\n\n## What each bench does\n...')
 * // '## Cost of X\n\nfigures\n'
 */
export function keptSections(markdown: string): string {
  const parts = markdown.split(/^(?=## )/m).slice(1);
  const kept = parts.filter((part) => !GENERATED.some((heading) => part.startsWith(`${heading}\n`)));
  return kept.map((part) => `${part.trimEnd()}\n`).join('\n');
}

/** The kept sections of the file at `path`, or '' when it does not exist yet. */
export function keptSectionsOf(path: string): string {
  try {
    return keptSections(readFileSync(path, 'utf8'));
  } catch {
    return '';
  }
}
