import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keptSections } from '../../scripts/bench/lib/kept-sections.ts';

const doc = (middle: string) =>
  `# Benchmarks\n\nProduced by...\n\n| table |\n\n${middle}## What each bench does\n\nmethod\n\n## How to reproduce\n\nsteps\n`;

describe('keptSections', () => {
  it('keeps the measured sections between the table and the method, in order, and not the generated ones', () => {
    const kept = keptSections(doc('## Cost of A\n\nfigures A\n\n## Cost of B\n\n| b |\n\n'));
    expect(kept).toBe('## Cost of A\n\nfigures A\n\n## Cost of B\n\n| b |\n');
  });

  it('keeps nothing from a document with only the generated sections', () => {
    expect(keptSections(doc(''))).toBe('');
    expect(keptSections('')).toBe('');
  });

  it('is stable: sections kept into a new document are kept again, unchanged', () => {
    const kept = keptSections(doc('## Cost of A\n\nfigures\n\n'));
    expect(keptSections(doc(`${kept}\n`))).toBe(kept);
  });

  it('keeps every measured section of the committed BENCHMARKS.md', () => {
    const committed = readFileSync(join(import.meta.dir, '../../BENCHMARKS.md'), 'utf8');
    const headings = [...committed.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    const kept = [...keptSections(committed).matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(kept).toEqual(headings.filter((h) => h !== 'What each bench does' && h !== 'How to reproduce'));
    expect(kept.length).toBeGreaterThan(0);
  });
});
