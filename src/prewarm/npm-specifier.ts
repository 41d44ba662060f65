/**
 * Reduces a JavaScript module specifier to the npm package that provides it, or to nothing when
 * the specifier names a file, a runtime built-in or something that is not a package at all.
 */
import { builtinModules } from 'node:module';

/**
 * Names that Bun lists among its built-in modules although they are ordinary npm packages on every
 * other runtime. Left out so that the same source gives the same answer under Bun and under Node.
 */
const RUNTIME_SHIMMED_PACKAGES = new Set(['ws', 'undici']);

/** Node's core modules, as bare names (`fs`, `fs/promises`); prefixed entries are handled by rule. */
const NODE_BUILTINS: ReadonlySet<string> = new Set(
  builtinModules.filter((name) => !name.includes(':') && !RUNTIME_SHIMMED_PACKAGES.has(name)),
);

/** npm's rule for one name segment; uppercase is allowed because older packages still use it. */
const NAME_SEGMENT = /^[A-Za-z0-9-][A-Za-z0-9._~-]*$/;

/**
 * True when `specifier` resolves to a runtime built-in: `node:*`, a bare Node core module
 * (`fs`, `fs/promises`), `bun` or `bun:*`.
 *
 * @example
 * isRuntimeBuiltin('node:path'); // true
 * isRuntimeBuiltin('lodash');    // false
 */
export function isRuntimeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:') || specifier === 'bun' || specifier.startsWith('bun:')) return true;
  const first = specifier.split('/')[0] ?? '';
  return NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(first);
}

/**
 * The npm package a specifier imports, or `undefined` for relative and absolute paths, URLs,
 * package-internal `#imports`, runtime built-ins and names npm could never publish (such as the
 * `@/` and `~/` path aliases many projects configure).
 *
 * @example
 * npmPackageOf('@scope/pkg/sub'); // '@scope/pkg'
 * npmPackageOf('lodash/fp');      // 'lodash'
 * npmPackageOf('./local');        // undefined
 */
export function npmPackageOf(specifier: string): string | undefined {
  if (specifier === '' || specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  if (specifier.startsWith('#') || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(specifier)) return undefined;
  if (isRuntimeBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  if (specifier.startsWith('@')) {
    const scope = parts[0]?.slice(1) ?? '';
    const name = parts[1] ?? '';
    if (!NAME_SEGMENT.test(scope) || !NAME_SEGMENT.test(name)) return undefined;
    return `@${scope}/${name}`;
  }
  const name = parts[0] ?? '';
  return NAME_SEGMENT.test(name) ? name : undefined;
}

/**
 * True when a declared `range` asks the registry for a version: empty, a version, a semver range
 * or a dist-tag. Git, GitHub, file, folder, URL, alias and workspace specs are not: fetching a
 * git or folder dependency runs its `prepare` script, and the others read from outside the
 * registry, so warming never fetches them.
 *
 * @example
 * isRegistryRange('^1.2.0 || 2.x'); // true
 * isRegistryRange('github:user/repo'); // false
 */
export function isRegistryRange(range: string): boolean {
  const text = range.trim();
  // A leading '.' is a folder to npm ('.', '../x'); ':' a protocol, '/' a path or user/repo.
  return !text.startsWith('.') && /^[\w.*^~<>=|+\s-]*$/.test(text);
}
