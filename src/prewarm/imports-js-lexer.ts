/**
 * Finds the npm packages a JavaScript or TypeScript file needs at run time without a native
 * parser: a small lexer (comments, strings, template literals, regular expressions) and a pattern
 * match over its tokens. It exists for the GitHub Action, which runs on plain Node from a single
 * bundled file: oxc-parser is a native addon (a `.node` binary per platform) that a bundle cannot
 * carry, so `imports-js.ts` cannot run there. Everything else keeps using `imports-js.ts`.
 *
 * It answers like {@link import('./imports-js.ts').extractJsImports} on ordinary code (the tests
 * compare the two on a table of cases). Being a lexer, it can misread a `/` after `)` or `}` that
 * starts a regular expression, and JSX text with quotes; to bound the damage, a string never runs
 * past the end of its line.
 */
import type { ImportScan } from './imports-js.ts';
import { npmPackageOf } from './npm-specifier.ts';

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'punct'; text: string }
  /** A quoted string, a template literal without substitutions, or template text after the last one. */
  | { kind: 'string'; text: string }
  /** A regular expression, or a template's text up to a `${`: never a specifier. */
  | { kind: 'other'; text: '' };

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

const isIdentifierChar = (c: string): boolean => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);

/** Splits `source` into the tokens the import patterns need; never throws. */
export function tokenize(source: string): { tokens: Token[]; problems: string[] } {
  const tokens: Token[] = [];
  const problems: string[] = [];
  /** One entry per open `{`: true when it opened a `${` substitution of a template literal. */
  const braces: boolean[] = [];
  let i = 0;
  const n = source.length;

  const regexAllowed = (): boolean => {
    const last = tokens[tokens.length - 1];
    if (last === undefined) return true;
    if (last.kind === 'word') return REGEX_AFTER_WORD.has(last.text);
    if (last.kind === 'punct') return !(last.text === ')' || last.text === ']' || last.text === '}');
    return false;
  };

  /** Scans template text from `i` (just after a backtick or a closing `}` of a substitution). */
  const templateText = (): void => {
    let text = '';
    while (i < n) {
      const c = source[i];
      if (c === '\\') {
        text += source[i + 1] ?? '';
        i += 2;
      } else if (c === '`') {
        i++;
        tokens.push({ kind: 'string', text });
        return;
      } else if (c === '$' && source[i + 1] === '{') {
        i += 2;
        braces.push(true);
        tokens.push({ kind: 'other', text: '' });
        return;
      } else {
        text += c;
        i++;
      }
    }
    problems.push('unterminated template literal');
  };

  while (i < n) {
    const c = source[i] ?? '';
    const next = source[i + 1];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) problems.push('unterminated comment');
      i = end < 0 ? n : end + 2;
    } else if (c === '"' || c === "'") {
      let text = '';
      i++;
      while (i < n && source[i] !== c && source[i] !== '\n') {
        if (source[i] === '\\') {
          text += source[i + 1] ?? '';
          i += 2;
        } else text += source[i++];
      }
      i++;
      tokens.push({ kind: 'string', text });
    } else if (c === '`') {
      i++;
      templateText();
    } else if (c === '/' && regexAllowed()) {
      let inClass = false;
      i++;
      while (i < n && source[i] !== '\n') {
        const r = source[i];
        if (r === '\\') i++;
        else if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
        i++;
      }
      i++;
      while (i < n && isIdentifierChar(source[i] ?? '')) i++;
      tokens.push({ kind: 'other', text: '' });
    } else if (isIdentifierChar(c)) {
      let text = '';
      while (i < n && isIdentifierChar(source[i] ?? '')) text += source[i++];
      tokens.push({ kind: 'word', text });
    } else if (c === '{') {
      braces.push(false);
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else if (c === '}') {
      i++;
      if (braces.pop() === true) templateText();
      else tokens.push({ kind: 'punct', text: c });
    } else if (c === '.' && next === '.' && source[i + 2] === '.') {
      tokens.push({ kind: 'punct', text: '...' });
      i += 3;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return { tokens, problems };
}

const at = (tokens: readonly Token[], index: number): Token | undefined => tokens[index];
const isWord = (token: Token | undefined, text: string): boolean =>
  token?.kind === 'word' && token.text === text;
const isPunct = (token: Token | undefined, text: string): boolean =>
  token?.kind === 'punct' && token.text === text;

/**
 * From `index` (just after `import` or `export`), finds `from 'specifier'` before the statement
 * ends; returns the specifier, the index after it, and whether every `{}` binding was `type`.
 */
function fromClause(
  tokens: readonly Token[],
  index: number,
):
  | { specifier: string; end: number; defaultOrNamespace: boolean; named: number; namedTypes: number }
  | undefined {
  let defaultOrNamespace = false;
  let named = 0;
  let namedTypes = 0;
  let depth = 0;
  let expectName = true;
  for (let j = index; j < tokens.length; j++) {
    const token = tokens[j];
    if (token === undefined) break;
    if (depth === 0 && isWord(token, 'from') && at(tokens, j + 1)?.kind === 'string') {
      const spec = at(tokens, j + 1);
      return spec?.kind === 'string'
        ? { specifier: spec.text, end: j + 2, defaultOrNamespace, named, namedTypes }
        : undefined;
    }
    if (isPunct(token, '{')) {
      depth++;
      expectName = true;
    } else if (isPunct(token, '}')) {
      depth--;
      if (depth < 0) return undefined;
    } else if (depth === 0 && (isPunct(token, ';') || token.kind === 'string')) {
      return undefined;
    } else if (depth === 1) {
      if (isPunct(token, ',')) expectName = true;
      else if (expectName && token.kind === 'word') {
        named++;
        const following = at(tokens, j + 1);
        // `type A`, `type A as B`; but `type` alone or `type as X` names a binding called "type".
        if (token.text === 'type' && following?.kind === 'word' && !isWord(following, 'as')) namedTypes++;
        else if (token.text === 'type' && isWord(following, 'as') && at(tokens, j + 2)?.kind === 'word') {
          // `type as as X` is a type import of `as`; `type as X` a value binding named type.
          if (isWord(at(tokens, j + 2), 'as')) namedTypes++;
        }
        expectName = false;
      }
    } else if (depth === 0 && (token.kind === 'word' || isPunct(token, '*'))) {
      defaultOrNamespace = true;
    }
  }
  return undefined;
}

/**
 * The npm packages `source` loads at run time, by the same rules as `extractJsImports` in
 * imports-js.ts: static imports and re-exports, `import("x")` and `require("x")` with a constant
 * argument, `import x = require("x")`; type-only imports and re-exports are ignored.
 *
 * @example
 * extractJsImportsLexically('a.ts', "import x from 'lodash/fp'; import type { Y } from 'y';");
 * // { packages: ['lodash'], problems: [] }
 */
export function extractJsImportsLexically(fileName: string, source: string): ImportScan {
  const { tokens, problems } = tokenize(source);
  const specifiers: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const previous = at(tokens, i - 1);
    if (token?.kind !== 'word' || isPunct(previous, '.')) continue;
    const next = at(tokens, i + 1);
    if (token.text === 'require' || token.text === 'import') {
      // require('x') and import('x'): a call with one constant argument.
      const argument = at(tokens, i + 2);
      if (isPunct(next, '(') && argument?.kind === 'string' && isPunct(at(tokens, i + 3), ')')) {
        const typeEquals =
          isPunct(previous, '=') && isWord(at(tokens, i - 3), 'type') && isWord(at(tokens, i - 4), 'import');
        if (!isWord(previous, 'function') && !typeEquals) specifiers.push(argument.text);
        continue;
      }
    }
    if (token.text === 'import') {
      if (next?.kind === 'string') {
        specifiers.push(next.text); // import 'x': always runs
        continue;
      }
      if (isPunct(next, '.') || isPunct(next, '(')) continue; // import.meta, import(expr)
      // `import type X from`, `import type { A } from`, `import type X = require()`: erased. But
      // `import type from 'x'` and `import type, { A } from 'x'` bind a value named "type".
      const typeOnly =
        isWord(next, 'type') && !isWord(at(tokens, i + 2), 'from') && !isPunct(at(tokens, i + 2), ',');
      const clause = fromClause(tokens, i + 1);
      if (clause) {
        const allTypes = !clause.defaultOrNamespace && clause.named > 0 && clause.named === clause.namedTypes;
        if (!typeOnly && !allTypes) specifiers.push(clause.specifier);
      }
      continue;
    }
    if (token.text === 'export' && !isWord(previous, 'declare')) {
      const typeOnly =
        isWord(next, 'type') && (isPunct(at(tokens, i + 2), '{') || isPunct(at(tokens, i + 2), '*'));
      if (!isPunct(next, '*') && !isPunct(next, '{') && !typeOnly) continue;
      const clause = fromClause(tokens, i + 1);
      if (clause && !typeOnly) specifiers.push(clause.specifier);
    }
  }
  const packages = new Set<string>();
  for (const specifier of specifiers) {
    const name = npmPackageOf(specifier);
    if (name !== undefined) packages.add(name);
  }
  return { packages: [...packages].sort(), problems: problems.map((problem) => `${fileName}: ${problem}`) };
}

/**
 * True when `fileName` is a JavaScript or TypeScript source the lexer reads (the same extensions
 * as `isJsSource` in imports-js.ts, which cannot be imported where oxc-parser cannot load).
 */
export function isLexableJsSource(fileName: string): boolean {
  if (/\.d\.[cm]?ts$/.test(fileName)) return false;
  return /\.(?:[cm]?[jt]s|[jt]sx)$/i.test(fileName);
}
