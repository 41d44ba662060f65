/**
 * The filesystem edge of import prediction: lists a workspace's source files, reads their imports
 * and its manifests, and checks which dependencies are already on disk. Unreadable files become
 * problems; the rest of the workspace is still scanned.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import fg from 'fast-glob';
import type { ImportedPackage, WorkspaceDependencies } from './candidates.ts';
import { extractGoImports } from './imports-go.ts';
import { extractJsImports, isJsSource } from './imports-js.ts';
import { extractPythonImports } from './imports-python.ts';
import {
  type Declared,
  type Ecosystem,
  parseGoMod,
  parsePackageJson,
  parsePyproject,
  parseRequirementsTxt,
} from './manifests.ts';
import { ALWAYS_IGNORED, createPathFilter, type PathFilter } from './path-filter.ts';

/** Everything the candidate finder needs, plus the per-file problems met on the way. */
export interface WorkspaceScan {
  imported: ImportedPackage[];
  dependencies: WorkspaceDependencies;
  filesScanned: number;
  problems: string[];
}

/** Options for {@link scanWorkspace}. */
export interface ScanOptions {
  /** Paths kept out of the scan; defaults to the workspace's `.prewarm-ignore`. */
  filter?: PathFilter;
  /** Go's module cache; defaults to `$GOMODCACHE`, else `$GOPATH/pkg/mod`, else `~/go/pkg/mod`. */
  goModCache?: string;
  /** Files larger than this are skipped (generated bundles, vendored code). */
  maxFileBytes?: number;
}

/** Reads `.prewarm-ignore` at the workspace root (absent means nothing extra is ignored). */
export async function loadPathFilter(root: string): Promise<PathFilter> {
  return createPathFilter(await readText(join(root, '.prewarm-ignore')).then((text) => text ?? ''));
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Go's module cache encodes upper-case letters as `!` plus the lower-case letter. */
function escapeGoModulePath(path: string): string {
  return path.replace(/[A-Z]/g, (letter) => `!${letter.toLowerCase()}`);
}

function defaultGoModCache(): string {
  const env = process.env;
  if (env.GOMODCACHE) return env.GOMODCACHE;
  const gopath = env.GOPATH?.split(':')[0];
  return join(gopath || join(homedir(), 'go'), 'pkg', 'mod');
}

/** Names of distributions installed in the workspace's virtual environments, from `*.dist-info`. */
async function installedPythonDistributions(root: string): Promise<Set<string>> {
  const names = new Set<string>();
  const sitePackages = await fg(['.venv/lib/python*/site-packages', 'venv/lib/python*/site-packages'], {
    cwd: root,
    onlyDirectories: true,
    absolute: true,
  });
  for (const folder of sitePackages) {
    for (const entry of await readdir(folder).catch(() => [])) {
      const match = /^(.+?)-[^-]+\.(?:dist-info|egg-info)$/.exec(entry);
      if (match?.[1]) names.add(match[1]);
    }
  }
  return names;
}

/**
 * Scans the workspace at `root`: every JS/TS, Python and Go source not filtered out, the root
 * manifests, and what is installed. Never throws for a bad file; see `problems`.
 */
export async function scanWorkspace(root: string, options: ScanOptions = {}): Promise<WorkspaceScan> {
  const filter = options.filter ?? (await loadPathFilter(root));
  const maxFileBytes = options.maxFileBytes ?? 1_000_000;
  const problems: string[] = [];

  const declared: Record<Ecosystem, Declared[]> = { npm: [], pypi: [], go: [] };
  const packageJson = await readText(join(root, 'package.json'));
  if (packageJson !== undefined) collect(parsePackageJson(packageJson), declared.npm, problems);
  for (const file of await fg('requirements*.txt', { cwd: root })) {
    const text = await readText(join(root, file));
    if (text !== undefined) collect(parseRequirementsTxt(text), declared.pypi, problems);
  }
  const pyproject = await readText(join(root, 'pyproject.toml'));
  if (pyproject !== undefined) collect(parsePyproject(pyproject), declared.pypi, problems);
  const goModText = await readText(join(root, 'go.mod'));
  const goMod = goModText === undefined ? { module: undefined, requirements: [] } : parseGoMod(goModText);
  declared.go = goMod.requirements.map(({ path, version }) => ({ name: path, range: version }));

  const files = await fg('**/*.{js,jsx,mjs,cjs,ts,tsx,mts,cts,py,go}', {
    cwd: root,
    ignore: ALWAYS_IGNORED.map((folder) => `**/${folder}**`),
    dot: false,
    followSymbolicLinks: false,
  });
  const uses = new Map<string, ImportedPackage>();
  let filesScanned = 0;
  for (const file of files.sort()) {
    if (filter(file)) continue;
    const ecosystem: Ecosystem | undefined = file.endsWith('.py')
      ? 'pypi'
      : file.endsWith('.go')
        ? 'go'
        : isJsSource(file)
          ? 'npm'
          : undefined;
    if (ecosystem === undefined) continue;
    const path = join(root, file);
    const size = await stat(path).then(
      (s) => s.size,
      () => -1,
    );
    if (size < 0 || size > maxFileBytes) {
      if (size > maxFileBytes) problems.push(`${file}: skipped, larger than ${maxFileBytes} bytes`);
      continue;
    }
    const source = await readText(path);
    if (source === undefined) {
      problems.push(`${file}: could not be read`);
      continue;
    }
    filesScanned++;
    const scan =
      ecosystem === 'npm'
        ? extractJsImports(file, source)
        : ecosystem === 'pypi'
          ? extractPythonImports(source)
          : extractGoImports(source, goMod.requirements, goMod.module);
    problems.push(
      ...scan.problems.map((problem) => (problem.startsWith(file) ? problem : `${file}: ${problem}`)),
    );
    for (const name of scan.packages) {
      const key = `${ecosystem}\u0000${name}`;
      const use = uses.get(key) ?? { ecosystem, name, importedBy: [] };
      use.importedBy.push(file);
      uses.set(key, use);
    }
  }

  const npmPresent = new Set<string>();
  for (const { name } of declared.npm) {
    if (await exists(join(root, 'node_modules', name, 'package.json'))) npmPresent.add(name);
  }
  const goPresent = new Set<string>();
  const modCache = options.goModCache ?? defaultGoModCache();
  for (const { path, version } of goMod.requirements) {
    const zip = join(modCache, 'cache', 'download', escapeGoModulePath(path), '@v', `${version}.zip`);
    if (await exists(zip)) goPresent.add(path);
  }
  return {
    imported: [...uses.values()],
    dependencies: {
      declared,
      present: { npm: npmPresent, pypi: await installedPythonDistributions(root), go: goPresent },
    },
    filesScanned,
    problems,
  };
}

function collect(
  result: { declared: Declared[]; problems: string[] },
  into: Declared[],
  problems: string[],
): void {
  into.push(...result.declared);
  problems.push(...result.problems);
}
