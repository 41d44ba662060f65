/**
 * The npm side of the hot set: what its JavaScript and TypeScript files import, what the nearest
 * package.json files declare, and which of those packages npm's cache already holds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import cacache from 'cacache';
import { type Candidate, findCandidates, type ImportedPackage } from '../src/prewarm/candidates.ts';
import { extractJsImportsLexically, isLexableJsSource } from '../src/prewarm/imports-js-lexer.ts';
import { type Declared, parsePackageJson } from '../src/prewarm/manifests.ts';

/** The hot set's npm dependencies, before any warming. */
export interface HotDependencies {
  /** Every npm package a hot file imports, with its importers. */
  imported: ImportedPackage[];
  /** Imported packages not in the npm cache: declared (`cold`) or declared nowhere (`missing`). */
  candidates: Candidate[];
  /** Imported packages the npm cache already held. */
  cached: string[];
  problems: string[];
}

/** `a/b/c.ts` -> `a/b/package.json`, `a/package.json`, `package.json`, nearest first. */
function manifestsAbove(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  const found: string[] = [];
  for (let depth = parts.length; depth >= 0; depth--) {
    found.push([...parts.slice(0, depth), 'package.json'].join('/'));
  }
  return found;
}

/**
 * Package names with at least one tarball in the npm cache at `npmCache` (npm's `cache` folder,
 * holding `_cacache`). npm keys a tarball by its URL, `<registry>/<name>/-/<file>.tgz`, with a
 * scope's slash sometimes written `%2f`; packuments alone do not count, since an install needs the
 * tarball. An absent or unreadable cache holds nothing.
 */
export async function npmPackagesInCache(npmCache: string): Promise<Set<string>> {
  const names = new Set<string>();
  const index = await cacache.ls(join(npmCache, '_cacache')).catch(() => ({}));
  for (const key of Object.keys(index)) {
    const match =
      /^make-fetch-happen:request-cache:https?:\/\/[^/]+\/(?:.*?\/)??((?:@[^/]+(?:\/|%2[fF]))?[^/@][^/]*)\/-\/[^/]+\.tgz$/.exec(
        key,
      );
    if (match?.[1]) names.add(decodeURIComponent(match[1]));
  }
  return names;
}

/**
 * Reads the imports of the hot files with the pure-JS lexer (the Action's bundle cannot carry
 * oxc-parser's native addon), the declarations of every package.json from each file up to the
 * repository root, and compares them with the npm cache. Unreadable files become problems.
 */
export async function hotNpmDependencies(
  repoDir: string,
  hotFiles: readonly string[],
  npmCache: string,
): Promise<HotDependencies> {
  const problems: string[] = [];
  const importers = new Map<string, Set<string>>();
  const manifests = new Set<string>(['package.json']);
  for (const file of hotFiles) {
    if (!isLexableJsSource(file)) continue;
    let source: string;
    try {
      source = readFileSync(join(repoDir, file), 'utf8');
    } catch (error) {
      problems.push(`${file}: not read (${(error as Error).message})`);
      continue;
    }
    const scan = extractJsImportsLexically(file, source);
    problems.push(...scan.problems);
    for (const name of scan.packages) importers.set(name, (importers.get(name) ?? new Set()).add(file));
    for (const manifest of manifestsAbove(file)) manifests.add(manifest);
  }
  const declared: Declared[] = [];
  for (const manifest of [...manifests].sort((a, b) => b.length - a.length)) {
    const path = join(repoDir, manifest);
    if (!existsSync(path)) continue;
    const parsed = parsePackageJson(readFileSync(path, 'utf8'));
    problems.push(...parsed.problems.map((problem) => `${manifest}: ${problem}`));
    // Nearest manifests come first (longest paths), so findCandidates takes their ranges.
    declared.push(...parsed.declared);
  }
  const imported: ImportedPackage[] = [...importers]
    .map(([name, files]) => ({ ecosystem: 'npm' as const, name, importedBy: [...files].sort() }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const inCache = await npmPackagesInCache(npmCache);
  // findCandidates names every undeclared import `missing`, cached or not; only uncached ones need warming.
  const candidates = findCandidates(imported, {
    declared: { npm: declared, pypi: [], go: [] },
    present: { npm: inCache, pypi: new Set(), go: new Set() },
  }).filter((candidate) => !inCache.has(candidate.name));
  const cached = imported.filter((use) => inCache.has(use.name)).map((use) => use.name);
  return { imported, candidates, cached, problems };
}
