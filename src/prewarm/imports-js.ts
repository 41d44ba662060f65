/**
 * Finds the npm packages a JavaScript or TypeScript file needs at run time, with oxc-parser: a
 * real parser, so imports inside strings, comments and template text are never mistaken for code.
 */
import { type EcmaScriptModule, parseSync, Visitor } from 'oxc-parser';
import { npmPackageOf } from './npm-specifier.ts';

/** What one file imports: sorted, unique package names, and any parse trouble as plain sentences. */
export interface ImportScan {
  packages: string[];
  problems: string[];
}

/** File extensions read as JavaScript or TypeScript, with the dialect each is parsed as. */
const LANG_BY_EXTENSION: Readonly<Record<string, 'jsx' | 'ts' | 'tsx'>> = {
  js: 'jsx',
  jsx: 'jsx',
  mjs: 'jsx',
  cjs: 'jsx',
  ts: 'ts',
  mts: 'ts',
  cts: 'ts',
  tsx: 'tsx',
};

/**
 * True when `fileName` is a source file {@link extractJsImports} understands. Declaration files
 * (`.d.ts`) are not: everything they import is a type.
 */
export function isJsSource(fileName: string): boolean {
  if (/\.d\.[cm]?ts$/.test(fileName)) return false;
  return langOf(fileName) !== undefined;
}

function langOf(fileName: string): 'jsx' | 'ts' | 'tsx' | undefined {
  const dot = fileName.lastIndexOf('.');
  return dot < 0 ? undefined : LANG_BY_EXTENSION[fileName.slice(dot + 1).toLowerCase()];
}

/** The text of a string literal, or of a template literal without substitutions; else undefined. */
function staticString(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null || !('type' in node)) return undefined;
  if (node.type === 'Literal' && 'value' in node && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && 'quasis' in node && Array.isArray(node.quasis)) {
    const [only, ...rest] = node.quasis as Array<{ value: { cooked: string | null } }>;
    if (only && rest.length === 0 && 'expressions' in node && Array.isArray(node.expressions)) {
      return only.value.cooked ?? undefined;
    }
  }
  return undefined;
}

/**
 * The npm packages `source` loads at run time: static imports and re-exports, `import("x")` with
 * a constant argument, `require("x")` and TypeScript's `import x = require("x")`. Type-only
 * imports and re-exports (`import type`, `export type ... from`, and imports whose every binding
 * is marked `type`, which TypeScript erases) are ignored, as are files, built-ins and aliases
 * (see {@link npmPackageOf}). Never throws: a file that does not parse yields what could be
 * recovered plus a problem.
 *
 * @example
 * extractJsImports('a.ts', "import x from 'lodash/fp'; import type { Y } from 'y';");
 * // { packages: ['lodash'], problems: [] }
 */
export function extractJsImports(fileName: string, source: string): ImportScan {
  const lang = langOf(fileName) ?? 'tsx';
  const specifiers: string[] = [];
  const result = parseSync(fileName, source, { lang, sourceType: 'unambiguous' });
  const add = (node: unknown): void => {
    const value = staticString(node);
    if (value !== undefined) specifiers.push(value);
  };
  const problems = result.errors
    .filter((error) => error.severity === 'Error')
    .map((error) => `${fileName}: ${error.message}`);
  // A file being edited is often broken mid-keystroke; when the parser gives up on the tree it
  // still fills in the module record, so fall back to that rather than to nothing.
  if (result.program.body.length === 0 && problems.length > 0) {
    return { packages: toPackages(specifiersFromModuleRecord(result.module, source)), problems };
  }
  new Visitor({
    ImportDeclaration(node) {
      if (node.importKind === 'type') return;
      const bindings = node.specifiers;
      // `import { type A } from 'x'` is erased by TypeScript (without verbatimModuleSyntax);
      // a bare `import 'x'` has no bindings and always runs.
      const allTypes =
        bindings.length > 0 &&
        bindings.every((binding) => binding.type === 'ImportSpecifier' && binding.importKind === 'type');
      if (!allTypes) add(node.source);
    },
    ExportNamedDeclaration(node) {
      if (node.source && node.exportKind !== 'type') add(node.source);
    },
    ExportAllDeclaration(node) {
      if (node.exportKind !== 'type') add(node.source);
    },
    ImportExpression(node) {
      add(node.source);
    },
    CallExpression(node) {
      if (
        node.callee.type === 'Identifier' &&
        node.callee.name === 'require' &&
        node.arguments.length === 1
      ) {
        add(node.arguments[0]);
      }
    },
    TSImportEqualsDeclaration(node) {
      if (node.importKind !== 'type' && node.moduleReference.type === 'TSExternalModuleReference') {
        add(node.moduleReference.expression);
      }
    },
  }).visit(result.program);
  return { packages: toPackages(specifiers), problems };
}

function toPackages(specifiers: readonly string[]): string[] {
  const packages = new Set<string>();
  for (const specifier of specifiers) {
    const name = npmPackageOf(specifier);
    if (name !== undefined) packages.add(name);
  }
  return [...packages].sort();
}

/** Runtime specifiers from oxc's module record: static imports and re-exports, constant dynamic imports. */
function specifiersFromModuleRecord(record: EcmaScriptModule, source: string): string[] {
  const found: string[] = [];
  for (const entry of record.staticImports) {
    const typeOnly = entry.entries.length > 0 && entry.entries.every((binding) => binding.isType);
    if (!typeOnly) found.push(entry.moduleRequest.value);
  }
  for (const statement of record.staticExports) {
    for (const entry of statement.entries) {
      if (entry.moduleRequest && !entry.isType) found.push(entry.moduleRequest.value);
    }
  }
  for (const call of record.dynamicImports) {
    const text = source.slice(call.moduleRequest.start, call.moduleRequest.end);
    const quoted = /^(['"`])([^'"`$\\]*)\1$/.exec(text);
    if (quoted?.[2] !== undefined) found.push(quoted[2]);
  }
  return found;
}
