/**
 * Finds the PyPI distributions a Python file imports. A small tokenizer, enough to step over
 * strings, comments, bracketed continuations and backslash continuations, then a reader for
 * `import a.b as c, d` and `from a import (b, c)` statements. No npm package parses Python well
 * enough to be worth a dependency for this one question.
 */
import type { ImportScan } from './imports-js.ts';
import { distributionOf } from './python-distributions.ts';
import { PYTHON_STDLIB } from './python-stdlib.ts';

type Token =
  | { kind: 'name'; text: string }
  | { kind: 'op'; text: string }
  | { kind: 'string' }
  | { kind: 'end' };

const NAME_START = /[A-Za-z_\u00C0-\uFFFF]/;
const NAME_PART = /[A-Za-z0-9_\u00C0-\uFFFF]/;
const STRING_PREFIX = /^[rRbBuUfF]{1,2}$/;

/**
 * Splits Python source into names, operators, strings and statement ends. A statement ends at a
 * newline outside brackets (unless escaped with `\`), at `;`, and after a block's `:` so that
 * `try: import x` is read as an import.
 *
 * Invariant: strings and comments never produce name tokens, so `"import os"` is not an import.
 */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  const n = source.length;
  while (i < n) {
    const ch = source[i] ?? '';
    if (ch === '#') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (ch === '\\' && (source[i + 1] === '\n' || source.startsWith('\r\n', i + 1))) {
      i += source[i + 1] === '\n' ? 2 : 3;
      continue;
    }
    if (ch === '\n') {
      if (depth === 0) tokens.push({ kind: 'end' });
      i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      i = skipString(source, i);
      tokens.push({ kind: 'string' });
      continue;
    }
    if (NAME_START.test(ch)) {
      let j = i + 1;
      while (j < n && NAME_PART.test(source[j] ?? '')) j++;
      const text = source.slice(i, j);
      if ((source[j] === '"' || source[j] === "'") && STRING_PREFIX.test(text)) {
        i = skipString(source, j);
        tokens.push({ kind: 'string' });
        continue;
      }
      tokens.push({ kind: 'name', text });
      i = j;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
    if (ch === ';' || (ch === ':' && depth === 0)) tokens.push({ kind: 'end' });
    else if (!/\s/.test(ch)) tokens.push({ kind: 'op', text: ch });
    i++;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

/** Index just past the string literal opening at `start` (single, double or triple quoted). */
function skipString(source: string, start: number): number {
  const quote = source[start] ?? '"';
  const triple = source.startsWith(quote.repeat(3), start);
  const close = triple ? quote.repeat(3) : quote;
  let i = start + close.length;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (source.startsWith(close, i)) return i + close.length;
    // An unterminated one-line string ends at the line; leave the newline to end the statement.
    if (!triple && ch === '\n') return i;
    i++;
  }
  return i;
}

/** Reads a dotted name starting at `at`; returns it and the index after it. */
function dottedName(tokens: readonly Token[], at: number): { name: string; next: number } {
  const parts: string[] = [];
  let i = at;
  for (;;) {
    const token = tokens[i];
    if (token?.kind !== 'name') break;
    parts.push(token.text);
    i++;
    const dot = tokens[i];
    if (dot?.kind !== 'op' || dot.text !== '.') break;
    i++;
  }
  return { name: parts.join('.'), next: i };
}

/**
 * The absolute modules `source` imports, in order of appearance, fully dotted
 * (`import a.b` gives `a.b`; `from a.b import c` gives `a.b`). Relative imports are left out.
 */
export function importedPythonModules(source: string): string[] {
  const tokens = tokenize(source);
  const modules: string[] = [];
  let atStatementStart = true;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined) break;
    if (token.kind === 'end') {
      atStatementStart = true;
      continue;
    }
    const starts = atStatementStart;
    atStatementStart = false;
    if (!starts || token.kind !== 'name') continue;
    if (token.text === 'import') {
      // import a.b as c, d
      let j = i + 1;
      for (;;) {
        const { name, next } = dottedName(tokens, j);
        if (name !== '') modules.push(name);
        j = next;
        const as = tokens[j];
        if (as?.kind === 'name' && as.text === 'as') j += 2;
        const comma = tokens[j];
        if (comma?.kind !== 'op' || comma.text !== ',') break;
        j++;
      }
      i = j - 1;
    } else if (token.text === 'from') {
      const first = tokens[i + 1];
      if (first?.kind === 'op' && first.text === '.') continue; // relative: from . import x
      const { name, next } = dottedName(tokens, i + 1);
      const keyword = tokens[next];
      if (name !== '' && keyword?.kind === 'name' && keyword.text === 'import') modules.push(name);
      i = next - 1;
    }
  }
  return modules;
}

/**
 * The PyPI distributions `source` needs: third-party imports (standard library and relative
 * imports left out), mapped to distribution names where they differ (`yaml` to `PyYAML`).
 * Sorted and unique. Never throws.
 *
 * @example
 * extractPythonImports('import os\nfrom yaml import safe_load\n').packages; // ['PyYAML']
 */
export function extractPythonImports(source: string): ImportScan {
  const distributions = new Set<string>();
  for (const module of importedPythonModules(source)) {
    const top = module.split('.')[0] ?? module;
    if (PYTHON_STDLIB.has(top)) continue;
    distributions.add(distributionOf(module));
  }
  return { packages: [...distributions].sort(), problems: [] };
}
