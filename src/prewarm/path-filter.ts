/**
 * Which workspace paths the predictor may look at: everything except what `.prewarm-ignore`
 * (gitignore syntax) and the always-skipped folders exclude.
 */
import ignore from 'ignore';

/** Folders never scanned: installed dependencies, VCS data and virtual environments. */
export const ALWAYS_IGNORED = ['node_modules/', '.git/', '.venv/', 'venv/', '__pycache__/', 'vendor/'];

/** Answers whether a workspace-relative, `/`-separated path is kept out of prediction. */
export type PathFilter = (relativePath: string) => boolean;

/**
 * A filter from the text of a `.prewarm-ignore` file (gitignore syntax) plus {@link ALWAYS_IGNORED}.
 *
 * @example
 * const ignored = createPathFilter('*.generated.ts\n');
 * ignored('src/api.generated.ts'); // true
 */
export function createPathFilter(prewarmIgnoreText: string): PathFilter {
  const matcher = ignore().add(ALWAYS_IGNORED).add(prewarmIgnoreText);
  return (relativePath) => relativePath !== '' && matcher.ignores(relativePath);
}
