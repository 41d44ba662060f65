/**
 * Turns a declared Python dependency (a name and the range a manifest gave it) into the one
 * requirement `pip download` is asked for, or a reason it is not warmed. Pure.
 *
 * Ranges come from requirements files and PEP 621 tables (PEP 440 specifiers such as `>=1.2,<2`
 * or `==1.4.*`) and from Poetry tables (`^1.2`, `~1.2`, `1.2.3`, `*`), which are translated to
 * PEP 440. Anything else (a URL, a path, a marker pip would have to evaluate) is refused: the
 * warmer fetches index versions only.
 */

/** A PEP 508 distribution name. */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const VERSION =
  /^v?\d+(?:\.\d+)*(?:[-_.]?(?:a|b|rc|alpha|beta|c|pre|preview|post|rev|r|dev)\d*)*(?:\+[A-Za-z0-9.]+)?$/i;
/** One PEP 440 clause; `==` and `!=` may end in `.*`. */
const CLAUSE = /^(~=|===|==|!=|<=|>=|<|>)\s*(v?\d[A-Za-z0-9.+_-]*?)(\.\*)?$/;

/** The requirement text for pip, or why the dependency is not warmed. */
export type PipRequirement = { ok: true; requirement: string } | { ok: false; reason: string };

function release(version: string): number[] {
  return (/^v?(\d+(?:\.\d+)*)/.exec(version)?.[1] ?? '0').split('.').map(Number);
}

/** Poetry's `^X.Y.Z`: up to, not including, the next change of the first non-zero part. */
function caret(version: string): string {
  const parts = release(version);
  const first = parts.findIndex((part) => part !== 0);
  const bump = first < 0 ? parts.length - 1 : first;
  const upper = parts.slice(0, bump + 1).map((part, i) => (i === bump ? part + 1 : part));
  return `>=${version},<${upper.join('.')}`;
}

/** Poetry's `~X.Y.Z`: patch updates only, or minor updates for a bare `~X`. */
function tilde(version: string): string {
  const parts = release(version);
  const keep = parts.length === 1 ? 1 : 2;
  const upper = parts.slice(0, keep).map((part, i) => (i === keep - 1 ? part + 1 : part));
  return `>=${version},<${upper.join('.')}`;
}

function specifier(range: string): string | undefined {
  const text = range.trim();
  if (text === '' || text === '*') return '';
  if (text.startsWith('^') && VERSION.test(text.slice(1).trim())) return caret(text.slice(1).trim());
  if (/^~[^=]/.test(text) && VERSION.test(text.slice(1).trim())) return tilde(text.slice(1).trim());
  if (VERSION.test(text)) return `==${text}`;
  const clauses = text.split(',').map((clause) => clause.replace(/\s+/g, ''));
  if (clauses.every((clause) => CLAUSE.test(clause))) return clauses.join(',');
  return undefined;
}

/**
 * The requirement for `name` at `range`: `name` alone for no range, `name<specifier>` otherwise.
 *
 * @example
 * pipRequirement('requests', '^2.31'); // { ok: true, requirement: 'requests>=2.31,<3' }
 * pipRequirement('demo', 'git+https://example.com/demo'); // { ok: false, reason: ... }
 */
export function pipRequirement(name: string, range: string): PipRequirement {
  if (!NAME.test(name)) return { ok: false, reason: `'${name}' is not a distribution name` };
  const spec = specifier(range);
  if (spec === undefined)
    return {
      ok: false,
      reason: `'${range.trim()}' is not an index version range (URLs, paths and markers are never warmed)`,
    };
  return { ok: true, requirement: `${name}${spec}` };
}

/** The single version an exact `==V` pin names, if the requirement is one; else undefined. */
export function pinnedVersion(requirement: string): string | undefined {
  return /^[A-Za-z0-9._-]+===?(v?\d[A-Za-z0-9.+_-]*)$/.exec(requirement)?.[1];
}
