/**
 * Parses what a project declares it depends on: package.json, requirements*.txt, pyproject.toml
 * and go.mod. Pure functions over file text; the files are read by the caller. Each parser accepts
 * untrusted text, validates it, and returns a problem instead of throwing.
 */
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import type { GoRequirement } from './imports-go.ts';
import { normalizeDistribution } from './python-distributions.ts';

/** The package ecosystems warmsync predicts for. */
export type Ecosystem = 'npm' | 'pypi' | 'go';

/** One declared dependency: its name as written and its version range (may be empty). */
export interface Declared {
  name: string;
  range: string;
}

/** What one manifest declares, or why it could not be read. */
export interface ManifestResult {
  declared: Declared[];
  problems: string[];
}

const DependencyMap = z.record(z.string(), z.string()).optional();
const PackageJson = z.object({
  dependencies: DependencyMap,
  devDependencies: DependencyMap,
  peerDependencies: DependencyMap,
  optionalDependencies: DependencyMap,
});

/**
 * Dependencies, devDependencies, peerDependencies and optionalDependencies of a package.json,
 * each name once (the first section that declares it wins, in that order).
 */
export function parsePackageJson(text: string): ManifestResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { declared: [], problems: [`package.json is not JSON: ${(error as Error).message}`] };
  }
  const parsed = PackageJson.safeParse(raw);
  if (!parsed.success)
    return { declared: [], problems: [`package.json: ${parsed.error.issues[0]?.message}`] };
  const { dependencies, devDependencies, peerDependencies, optionalDependencies } = parsed.data;
  const seen = new Map<string, string>();
  for (const section of [dependencies, devDependencies, peerDependencies, optionalDependencies]) {
    for (const [name, range] of Object.entries(section ?? {})) if (!seen.has(name)) seen.set(name, range);
  }
  return { declared: [...seen].map(([name, range]) => ({ name, range })), problems: [] };
}

/** `name[extras] (op version)* ; marker` from PEP 508, or `name @ url`; captures name and range. */
const REQUIREMENT = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;#@]*)/;

function parsePep508(spec: string): Declared | undefined {
  const match = REQUIREMENT.exec(spec.trim());
  if (!match?.[1]) return undefined;
  return { name: match[1], range: (match[2] ?? '').trim().replace(/^\(|\)$/g, '') };
}

/**
 * Requirements of a requirements.txt: one PEP 508 requirement a line; comments, options (`-r`,
 * `-e`, `--index-url`...) and blank lines skipped; `\` continuations joined.
 */
export function parseRequirementsTxt(text: string): ManifestResult {
  const declared: Declared[] = [];
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of logical) {
    const content = line.replace(/(^|\s)#.*$/, '').trim();
    if (content === '' || content.startsWith('-')) continue;
    const requirement = parsePep508(content);
    if (requirement) declared.push(requirement);
  }
  return { declared, problems: [] };
}

const StringList = z.array(z.string());
const Pyproject = z.object({
  project: z
    .object({
      dependencies: StringList.optional(),
      'optional-dependencies': z.record(z.string(), StringList).optional(),
    })
    .optional(),
  'dependency-groups': z.record(z.string(), z.array(z.unknown())).optional(),
  tool: z
    .object({
      poetry: z
        .object({
          dependencies: z.record(z.string(), z.unknown()).optional(),
          'dev-dependencies': z.record(z.string(), z.unknown()).optional(),
          group: z
            .record(z.string(), z.object({ dependencies: z.record(z.string(), z.unknown()) }))
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

/**
 * Dependencies of a pyproject.toml: PEP 621 `[project]` dependencies and optional dependencies,
 * PEP 735 dependency groups, and Poetry's dependency tables (without `python` itself).
 */
export function parsePyproject(text: string): ManifestResult {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    return { declared: [], problems: [`pyproject.toml is not TOML: ${(error as Error).message}`] };
  }
  const parsed = Pyproject.safeParse(raw);
  if (!parsed.success)
    return { declared: [], problems: [`pyproject.toml: ${parsed.error.issues[0]?.message}`] };
  const { project, tool } = parsed.data;
  const specs = [
    ...(project?.dependencies ?? []),
    ...Object.values(project?.['optional-dependencies'] ?? {}).flat(),
    ...Object.values(parsed.data['dependency-groups'] ?? {})
      .flat()
      .filter((item): item is string => typeof item === 'string'),
  ];
  const declared = specs.flatMap((spec) => parsePep508(spec) ?? []);
  const poetry = tool?.poetry;
  const poetryTables = [
    poetry?.dependencies,
    poetry?.['dev-dependencies'],
    ...Object.values(poetry?.group ?? {}).map((group) => group.dependencies),
  ];
  for (const table of poetryTables) {
    for (const [name, value] of Object.entries(table ?? {})) {
      if (name.toLowerCase() === 'python') continue;
      declared.push({ name, range: typeof value === 'string' ? value : '' });
    }
  }
  return { declared: dedupeBy(declared, (entry) => normalizeDistribution(entry.name)), problems: [] };
}

/** A go.mod's own module path and its requirements (block and single-line `require`). */
export interface GoMod {
  module: string | undefined;
  requirements: GoRequirement[];
}

/**
 * The module path and `require` directives of a go.mod. Comments (including `// indirect`) are
 * ignored; `replace` and `exclude` do not change which modules are needed, so they are skipped.
 */
export function parseGoMod(text: string): GoMod {
  const lines = text.split(/\r?\n/).map((line) => line.replace(/\/\/.*$/, '').trim());
  let module: string | undefined;
  const requirements: GoRequirement[] = [];
  let inRequireBlock = false;
  for (const line of lines) {
    if (inRequireBlock) {
      if (line === ')') inRequireBlock = false;
      else addGoRequirement(line, requirements);
      continue;
    }
    const moduleMatch = /^module\s+"?([^\s"]+)"?/.exec(line);
    if (moduleMatch) module = moduleMatch[1];
    if (/^require\s*\($/.test(line)) inRequireBlock = true;
    else if (line.startsWith('require ')) addGoRequirement(line.slice('require '.length), requirements);
  }
  return { module, requirements };
}

function addGoRequirement(line: string, into: GoRequirement[]): void {
  const [path, version] = line.split(/\s+/);
  if (path && version) into.push({ path: path.replace(/"/g, ''), version });
}

function dedupeBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
