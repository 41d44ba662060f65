/**
 * Finds the Go modules a Go file imports: reads the import declarations (single and grouped), drops
 * the standard library, and resolves each package path to the required module that owns it.
 */
import type { ImportScan } from './imports-js.ts';

/** One `require` line of a go.mod: a module path and its version. */
export interface GoRequirement {
  path: string;
  version: string;
}

/** Replaces comments with a space, keeping string literals (which may contain `//`) intact. */
function stripComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (ch === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? source.length : end + 2;
      out += ' ';
      continue;
    }
    if (ch === '"' || ch === '`') {
      const close = ch;
      let j = i + 1;
      while (j < source.length && source[j] !== close) j += source[j] === '\\' && close === '"' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

/**
 * The package paths `source` imports, in order: `import "a"`, `import x "a"`, `import . "a"`,
 * `import _ "a"` and grouped `import ( ... )` forms; comments are ignored.
 *
 * @example
 * goImportPaths('package m\nimport (\n  "fmt"\n  y "gopkg.in/yaml.v3"\n)\n'); // ['fmt', 'gopkg.in/yaml.v3']
 */
export function goImportPaths(source: string): string[] {
  // Go requires imports to precede every other declaration, so the file is read only up to the
  // first func, var, const or type; an import-like string in a function body is never reached.
  const code = stripComments(source);
  const firstDeclaration = code.search(/^(?:func|var|const|type)\b/m);
  const text = firstDeclaration < 0 ? code : code.slice(0, firstDeclaration);
  const paths: string[] = [];
  const declaration = /\bimport\s*(\(([^)]*)\)|(?:[A-Za-z_.][\w]*\s+)?("[^"]*"|`[^`]*`))/g;
  for (const match of text.matchAll(declaration)) {
    const group = match[2];
    const single = match[3];
    const quoted = group !== undefined ? (group.match(/"[^"]*"|`[^`]*`/g) ?? []) : single ? [single] : [];
    for (const literal of quoted) paths.push(literal.slice(1, -1));
  }
  return paths;
}

/** True for standard-library paths: their first element has no dot (`fmt`, `net/http`). */
export function isGoStdlib(path: string): boolean {
  return !(path.split('/')[0] ?? '').includes('.');
}

/**
 * The module in `requirements` that provides package `path`: the longest module path equal to
 * `path` or a prefix of it ending at a `/`. Undefined when none matches.
 *
 * @example
 * goModuleOf('github.com/a/b/sub', [{ path: 'github.com/a/b', version: 'v1.0.0' }]); // 'github.com/a/b'
 */
export function goModuleOf(path: string, requirements: readonly GoRequirement[]): string | undefined {
  let best: string | undefined;
  for (const { path: module } of requirements) {
    const owns = path === module || path.startsWith(`${module}/`);
    if (owns && (best === undefined || module.length > best.length)) best = module;
  }
  return best;
}

/**
 * The modules a Go file needs: its non-standard imports resolved against the go.mod requirements.
 * An import no requirement owns (and that is not inside `ownModule`) is kept as its own path and
 * reported as a problem, since `go mod tidy` would have to add it.
 */
export function extractGoImports(
  source: string,
  requirements: readonly GoRequirement[],
  ownModule?: string,
): ImportScan {
  const modules = new Set<string>();
  const problems: string[] = [];
  for (const path of goImportPaths(source)) {
    if (isGoStdlib(path)) continue;
    if (ownModule !== undefined && (path === ownModule || path.startsWith(`${ownModule}/`))) continue;
    const module = goModuleOf(path, requirements);
    if (module === undefined) problems.push(`import "${path}" is not provided by any module in go.mod`);
    modules.add(module ?? path);
  }
  return { packages: [...modules].sort(), problems };
}
