/**
 * Ignore rules with git's meaning: every `.gitignore` (and `.warmsyncignore`) applies to its own
 * folder and below, deeper files override shallower ones, negations re-include, a file inside an
 * excluded folder cannot be re-included, and a file git tracks is never ignored.
 *
 * Pattern matching is the `ignore` package's (a faithful port of git's wildmatch rules); this
 * module adds the layering by folder and the tracked-file exception.
 */
import ignore, { type Ignore } from 'ignore';
import { ancestorPaths } from './paths.ts';

/** The ignore files read in every folder, in order of precedence (later wins). */
export const IGNORE_FILE_NAMES = ['.gitignore', '.warmsyncignore'] as const;

export interface IgnoreOptions {
  /** Skip `.git/` (default true). */
  ignoreGitDir: boolean;
  /** Skip `node_modules/` (default true). */
  ignoreNodeModules: boolean;
}

export const DEFAULT_IGNORE_OPTIONS: IgnoreOptions = { ignoreGitDir: true, ignoreNodeModules: true };

/**
 * The ignore rules of one tree. Built from the text of each ignore file by folder, plus the set of
 * paths git tracks. A tree walker adds each folder's rules as it enters the folder.
 */
export class IgnoreRules {
  private readonly byFolder = new Map<string, Ignore>();
  private readonly trackedAncestors = new Set<string>();

  constructor(
    /** Folder ('' for the root) -> concatenated text of its ignore files. */
    rulesByFolder: ReadonlyMap<string, string>,
    private readonly tracked: ReadonlySet<string> = new Set(),
    private readonly options: IgnoreOptions = DEFAULT_IGNORE_OPTIONS,
  ) {
    this.byFolder.set('', ignore({ ignorecase: false }).add(this.defaults()));
    for (const [folder, text] of rulesByFolder) this.setFolderRules(folder, text);
    for (const path of tracked) for (const dir of ancestorPaths(path)) this.trackedAncestors.add(dir);
  }

  /** Sets (replaces) the rules of one folder from the text of its ignore files. */
  setFolderRules(folder: string, text: string): void {
    const rules = ignore({ ignorecase: false });
    if (folder === '') rules.add(this.defaults());
    this.byFolder.set(folder, rules.add(text));
  }

  private defaults(): string[] {
    const out: string[] = [];
    if (this.options.ignoreGitDir) out.push('.git/');
    if (this.options.ignoreNodeModules) out.push('node_modules/');
    return out;
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
    for (const dir of ancestorPaths(path)) {
      if (this.trackedAncestors.has(dir)) continue;
      if (this.matchOne(dir, true)) return true;
    }
    return this.matchOne(path, isDir);
  }

  private matchOne(path: string, isDir: boolean): boolean {
    // Walk the rule files from the root down to the folder holding `path`; the deepest verdict wins.
    let ignored = false;
    const folders = ['', ...ancestorPaths(path)];
    for (const folder of folders) {
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
