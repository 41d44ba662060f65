/**
 * Ignore rules with git's meaning: every `.gitignore` (and `.warmsyncignore`) applies to its own
 * folder and below, deeper files override shallower ones, negations re-include, a file inside an
 * excluded folder cannot be re-included, and a file git tracks is never ignored. Below all of
 * them lie the repository-wide exclude files (`core.excludesFile`, then `.git/info/exclude`),
 * with patterns relative to the root, as git orders them.
 *
 * Pattern matching is the `ignore` package's (a faithful port of git's wildmatch rules); this
 * module adds the layering and the tracked-file exception.
 */
import ignore, { type Ignore } from 'ignore';
import { ancestorPaths, parentPath, pathDepth } from './paths.ts';

/** The ignore files read in every folder, in order of precedence (later wins). */
export const IGNORE_FILE_NAMES = ['.gitignore', '.warmsyncignore'] as const;

export interface IgnoreOptions {
  /** Skip `.git/` (default true). */
  ignoreGitDir: boolean;
  /** Skip `node_modules/` (default true). */
  ignoreNodeModules: boolean;
  /** More patterns, with .gitignore syntax, applied at the root (the project file's `ignore`). */
  extraPatterns?: readonly string[];
}

const DEFAULT_MARK = 'default';
const PROJECT_MARK = 'project';

export const DEFAULT_IGNORE_OPTIONS: IgnoreOptions = { ignoreGitDir: true, ignoreNodeModules: true };

/**
 * The ignore rules of one tree. Built from the text of each ignore file by folder, plus the set of
 * paths git tracks. A tree walker adds each folder's rules as it enters the folder.
 */
export class IgnoreRules {
  private readonly byFolder = new Map<string, Ignore>();
  /** Folders known ignored or not (see folderIgnored); cleared whenever the rules change. */
  private readonly folderVerdicts = new Map<string, boolean>();
  private trackedAncestors = new Set<string>();
  /** Repository-wide layers below every ignore file of the tree, lowest first. */
  private repoLayers: Ignore[] = [];

  constructor(
    /** Folder ('' for the root) -> concatenated text of its ignore files. */
    rulesByFolder: ReadonlyMap<string, string>,
    private tracked: ReadonlySet<string> = new Set(),
    private readonly options: IgnoreOptions = DEFAULT_IGNORE_OPTIONS,
    /** Text of git's exclude files, lowest precedence first (see `setRepoExcludes`). */
    repoExcludes: readonly string[] = [],
  ) {
    this.byFolder.set('', ignore({ ignorecase: false }).add(this.defaults()));
    for (const [folder, text] of rulesByFolder) this.setFolderRules(folder, text);
    this.setTracked(tracked);
    this.setRepoExcludes(repoExcludes);
  }

  /** Replaces the set of paths git tracks; the rules of the ignore files are kept. */
  setTracked(tracked: ReadonlySet<string>): void {
    this.tracked = tracked;
    this.folderVerdicts.clear();
    this.trackedAncestors = new Set();
    for (const path of tracked) for (const dir of ancestorPaths(path)) this.trackedAncestors.add(dir);
  }

  /**
   * Replaces the repository-wide exclude layers: the text of `core.excludesFile`, then of
   * `.git/info/exclude`. Git consults them after every `.gitignore`, the later one first, so any
   * ignore file of the tree (a negation too) overrides them, and `.git/info/exclude` overrides
   * `core.excludesFile`.
   */
  setRepoExcludes(texts: readonly string[]): void {
    this.folderVerdicts.clear();
    this.repoLayers = texts.map((text) => ignore({ ignorecase: false }).add(text));
  }

  /** Sets (replaces) the rules of one folder from the text of its ignore files. */
  setFolderRules(folder: string, text: string): void {
    this.folderVerdicts.clear();
    const rules = ignore({ ignorecase: false });
    if (folder === '') rules.add(this.defaults());
    this.byFolder.set(folder, rules.add(text));
  }

  /** The agent's own patterns, marked so that `explain` can name where each came from. */
  private defaults(): { pattern: string; mark: string }[] {
    const out: { pattern: string; mark: string }[] = [];
    if (this.options.ignoreGitDir) out.push({ pattern: '.git/', mark: DEFAULT_MARK });
    if (this.options.ignoreNodeModules) out.push({ pattern: 'node_modules/', mark: DEFAULT_MARK });
    for (const pattern of this.options.extraPatterns ?? []) out.push({ pattern, mark: PROJECT_MARK });
    return out;
  }

  /**
   * The folders above `path` that may hold rules, shallowest first: its ancestors, or the folders
   * that have rules, whichever list is shorter (a deep path in a tree of few ignore files, a
   * shallow one in a tree of many).
   */
  private ruleFoldersAbove(path: string): string[] {
    if (this.byFolder.size > pathDepth(path)) return ['', ...ancestorPaths(path)];
    return [...this.byFolder.keys()]
      .filter((folder) => folder === '' || (path.startsWith(folder) && path[folder.length] === '/'))
      .sort((a, b) => a.length - b.length);
  }

  /** True when git tracks the path or a file below it (then the walker must still descend). */
  holdsTracked(path: string): boolean {
    return this.tracked.has(path) || this.trackedAncestors.has(path);
  }

  /**
   * Whether `path` is ignored. Folders must pass `isDir` so that patterns ending in '/' apply.
   * Callers walking a tree test each folder before descending; this method also checks
   * ancestors so it can answer for any single path (an incoming change, a watcher event).
   */
  isIgnored(path: string, isDir: boolean): boolean {
    if (this.tracked.has(path)) return false;
    if (isDir && this.trackedAncestors.has(path)) return false;
    const parent = parentPath(path);
    if (parent !== '' && this.folderIgnored(parent)) return true;
    return this.matchOne(path, isDir);
  }

  /**
   * Whether a folder or one of its ancestors is ignored by a pattern (a folder holding tracked
   * files is not, by itself). Each folder's verdict is kept until the rules change: the ancestors
   * of a path are asked again for every path below them, so without it one path cost the cube of
   * its depth and a tree walk the fourth power, and a path of 2,000 nested folders (legal within
   * 4,096 bytes) kept the agent busy for hours.
   */
  private folderIgnored(dir: string): boolean {
    const unknown: string[] = [];
    let ignored = false;
    for (let folder = dir; folder !== ''; folder = parentPath(folder)) {
      const known = this.folderVerdicts.get(folder);
      if (known !== undefined) {
        ignored = known;
        break;
      }
      unknown.push(folder);
    }
    for (let i = unknown.length - 1; i >= 0; i--) {
      const folder = unknown[i]!;
      ignored = ignored || (!this.trackedAncestors.has(folder) && this.matchOne(folder, true));
      this.folderVerdicts.set(folder, ignored);
    }
    return ignored;
  }

  /** The verdict of the patterns alone, as if git tracked nothing. */
  isIgnoredByPatterns(path: string, isDir: boolean): boolean {
    for (const dir of ancestorPaths(path)) if (this.matchOne(dir, true)) return true;
    return this.matchOne(path, isDir);
  }

  /**
   * True when the agent's own defaults skip the path (`.git/`, `node_modules/` unless synced):
   * those are per-agent options, not rules shared through ignore files.
   */
  isSkippedByDefault(path: string, isDir: boolean): boolean {
    const segments = path.split('/');
    return segments.some((segment, i) => {
      const folder = isDir || i < segments.length - 1;
      if (!folder) return false;
      return (
        (this.options.ignoreGitDir && segment === '.git') ||
        (this.options.ignoreNodeModules && segment === 'node_modules')
      );
    });
  }

  /**
   * Whether `path` is ignored and why, in words: the rule and where it is written, the ignored
   * folder it is in, or that git tracks it (`warmsync doctor --why`).
   */
  explain(path: string, isDir: boolean): { ignored: boolean; reason: string } {
    if (this.tracked.has(path) || (isDir && this.trackedAncestors.has(path)))
      return { ignored: false, reason: 'git tracks it, so it syncs whatever the ignore rules say' };
    for (const dir of ancestorPaths(path))
      if (!this.trackedAncestors.has(dir) && this.matchOne(dir, true))
        return { ignored: true, reason: `it is inside ${dir}/, which ${this.ruleOf(dir, true)} ignores` };
    if (this.matchOne(path, isDir))
      return { ignored: true, reason: `${this.ruleOf(path, isDir)} ignores it` };
    return { ignored: false, reason: 'no ignore rule matches it' };
  }

  /** The deciding rule for an ignored path, in words (the last layer with a verdict). */
  private ruleOf(path: string, isDir: boolean): string {
    const probe = isDir ? `${path}/` : path;
    let found = 'a rule';
    this.repoLayers.forEach((layer, i) => {
      const verdict = layer.test(probe);
      if (verdict.ignored)
        found = `pattern "${verdict.rule?.pattern}" of git's ${i === this.repoLayers.length - 1 ? '.git/info/exclude' : 'core.excludesFile'}`;
    });
    for (const folder of this.ruleFoldersAbove(path)) {
      const rules = this.byFolder.get(folder);
      if (!rules) continue;
      const relative = folder === '' ? path : path.slice(folder.length + 1);
      const verdict = rules.test(isDir ? `${relative}/` : relative);
      if (!verdict.ignored) continue;
      const pattern = verdict.rule?.pattern;
      const mark = verdict.rule?.mark;
      found =
        mark === DEFAULT_MARK
          ? `the default "${pattern}" (--sync-git, --sync-node-modules or warmsync.toml turn it off)`
          : mark === PROJECT_MARK
            ? `pattern "${pattern}" of warmsync.toml's ignore`
            : `pattern "${pattern}" of ${folder === '' ? 'the root' : `${folder}/`}'s ${IGNORE_FILE_NAMES.join(' or ')}`;
    }
    return found;
  }

  private matchOne(path: string, isDir: boolean): boolean {
    // Walk the layers from the lowest (git's exclude files) through the root's rule files down to
    // the folder holding `path`; the last layer with a verdict wins.
    let ignored = false;
    const probe = isDir ? `${path}/` : path;
    for (const layer of this.repoLayers) {
      const verdict = layer.test(probe);
      if (verdict.ignored) ignored = true;
      else if (verdict.unignored) ignored = false;
    }
    for (const folder of this.ruleFoldersAbove(path)) {
      const rules = this.byFolder.get(folder);
      if (!rules) continue;
      const relative = folder === '' ? path : path.slice(folder.length + 1);
      const verdict = rules.test(isDir ? `${relative}/` : relative);
      if (verdict.ignored) ignored = true;
      else if (verdict.unignored) ignored = false;
    }
    return ignored;
  }

  /** True when `path` is one of the files that define ignore rules. */
  static isIgnoreFile(path: string): boolean {
    const name = path.slice(path.lastIndexOf('/') + 1);
    return (IGNORE_FILE_NAMES as readonly string[]).includes(name);
  }
}

/**
 * The paths whose verdict changes when git's tracked set goes from `before` to `after`: the files
 * that entered or left it while a pattern ignores them, and their ancestor folders that a pattern
 * ignores (such a folder syncs while it holds a tracked file). A file no pattern ignores syncs
 * either way, so a `git add` of ordinary files names nothing here.
 */
export function retrackedPaths(
  rules: IgnoreRules,
  before: ReadonlySet<string>,
  after: ReadonlySet<string>,
): string[] {
  const out = new Set<string>();
  const note = (path: string) => {
    if (!rules.isIgnoredByPatterns(path, false)) return;
    out.add(path);
    for (const dir of ancestorPaths(path)) if (rules.isIgnoredByPatterns(dir, true)) out.add(dir);
  };
  for (const path of after) if (!before.has(path)) note(path);
  for (const path of before) if (!after.has(path)) note(path);
  return [...out];
}
