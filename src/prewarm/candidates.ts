/**
 * Compares what a workspace imports with what it declares and what is already on disk, and names
 * the packages worth warming. Pure: the scan and the presence checks happen elsewhere.
 */
import type { Declared, Ecosystem } from './manifests.ts';
import { normalizeDistribution } from './python-distributions.ts';

/** A package imported by at least one file, with the files (workspace-relative) that import it. */
export interface ImportedPackage {
  ecosystem: Ecosystem;
  name: string;
  importedBy: string[];
}

/**
 * A package to warm. `missing`: imported but declared by no manifest, so nothing will install it
 * until someone adds it. `cold`: declared but not present in the install tree or module cache.
 */
export interface Candidate {
  ecosystem: Ecosystem;
  name: string;
  status: 'missing' | 'cold';
  /** The declared version range; undefined for `missing` packages. */
  range: string | undefined;
  importedBy: string[];
}

/** What the workspace declares and has, per ecosystem; names in any spelling the ecosystem allows. */
export interface WorkspaceDependencies {
  declared: Readonly<Record<Ecosystem, readonly Declared[]>>;
  present: Readonly<Record<Ecosystem, ReadonlySet<string>>>;
}

/** The key under which two spellings of one package compare equal in its ecosystem. */
export function packageKey(ecosystem: Ecosystem, name: string): string {
  return ecosystem === 'pypi' ? normalizeDistribution(name) : name;
}

/**
 * The imported packages that are missing or cold, sorted by ecosystem then name. A package that
 * is declared and present is not a candidate, whatever its version: checking versions is the
 * package manager's job at install time.
 *
 * @example
 * findCandidates([{ ecosystem: 'npm', name: 'zod', importedBy: ['a.ts'] }], {
 *   declared: { npm: [{ name: 'zod', range: '^4' }], pypi: [], go: [] },
 *   present: { npm: new Set(), pypi: new Set(), go: new Set() },
 * }); // [{ ecosystem: 'npm', name: 'zod', status: 'cold', range: '^4', importedBy: ['a.ts'] }]
 */
export function findCandidates(
  imported: readonly ImportedPackage[],
  workspace: WorkspaceDependencies,
): Candidate[] {
  const candidates: Candidate[] = [];
  for (const use of imported) {
    const key = packageKey(use.ecosystem, use.name);
    const declaration = workspace.declared[use.ecosystem].find(
      (entry) => packageKey(use.ecosystem, entry.name) === key,
    );
    const present = [...workspace.present[use.ecosystem]].some(
      (name) => packageKey(use.ecosystem, name) === key,
    );
    if (declaration === undefined) {
      candidates.push({
        ...use,
        status: 'missing',
        range: undefined,
        importedBy: [...use.importedBy].sort(),
      });
    } else if (!present) {
      candidates.push({
        ...use,
        name: declaration.name,
        status: 'cold',
        range: declaration.range,
        importedBy: [...use.importedBy].sort(),
      });
    }
  }
  return candidates.sort((a, b) => a.ecosystem.localeCompare(b.ecosystem) || a.name.localeCompare(b.name));
}
