/**
 * Following git while the agent runs. What git tracks decides what syncs under an ignore pattern,
 * and git's exclude files add patterns of their own; both change under the agent's feet (a
 * checkout, a pull, a `git add -f`, an edit of `.git/info/exclude`). The agent calls `refresh()`
 * whenever git touched its index and on every full scan; a few `stat` calls tell whether anything
 * git reads was rewritten, and only then is git asked again.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { retrackedPaths } from '../core/ignore.ts';
import { excludesFilePath, filesStamp, gitConfigFiles, repoExcludes, trackedPaths } from './git.ts';
import type { LocalTree } from './local-tree.ts';

export interface GitRefresh {
  /** Paths whose ignore verdict flipped with what git tracks: observe them again, even if ignored now. */
  retracked: string[];
  /** The exclude files changed: any path may have a new verdict, so the tree is to be scanned. */
  rulesChanged: boolean;
}

/**
 * A refresh under way, in two stages: `rules` resolves once git's exclude rules are known to have
 * changed or not (a few `stat` calls, and a read of a changed file), before git is asked what it
 * tracks; `done` once the whole refresh is (see GitFollower.refresh).
 */
export interface GitRefreshing {
  rules: Promise<boolean>;
  done: Promise<GitRefresh | undefined>;
}

export class GitFollower {
  /** The refresh before this one: each starts once it is over, so each reads the state it left. */
  private last: Promise<unknown> = Promise.resolve();
  /** The rules stage of the refresh before this one (see refreshInStages). */
  private lastRules: Promise<unknown> = Promise.resolve();
  private tracked: ReadonlySet<string> = new Set();
  private excludes: readonly string[] = [];
  /** Fingerprints of the files last read; undefined until the first refresh. */
  private indexStamp: string | undefined;
  private configStamp: string | undefined;
  private excludesStamp: string | undefined;
  private excludesFile = '';

  constructor(
    private readonly root: string,
    private readonly tree: LocalTree,
  ) {}

  /**
   * Reads git's view again where its files changed and hands it to the tree. Resolves undefined
   * when nothing changed.
   *
   * Invariant: each fingerprint is taken before the file is read, so a write that lands during
   * the read changes the fingerprint again and is read by the next refresh; nothing is missed.
   */
  refresh(): Promise<GitRefresh | undefined> {
    return this.refreshInStages().done;
  }

  /**
   * `refresh`, with its first stage told apart (see GitRefreshing). The stages are chained apart:
   * a refresh's rules wait only for the rules of the one before, not for its `git ls-files`, so a
   * checkout whose events fall into two cycles does not hold the second cycle's files until git
   * answers the first one (the answer is needed only for paths an ignore pattern matches).
   */
  refreshInStages(): GitRefreshing {
    const rules = this.lastRules.then(() => this.readRules());
    this.lastRules = rules.catch(() => false);
    const done = Promise.all([rules, this.last]).then(([rulesChanged]) => this.readTracked(rulesChanged));
    this.last = done.catch(() => {});
    // A refresh that fails says "changed": whoever waits on the rules then waits for `done` too.
    return { rules: rules.catch(() => true), done };
  }

  /** Reads git's exclude rules again where their files changed; true when the rules changed. */
  private async readRules(): Promise<boolean> {
    const gitDir = join(this.root, '.git');
    const isRepo = await stat(gitDir).then(
      () => true,
      () => false,
    );
    const configStamp = `${isRepo}|${await filesStamp(gitConfigFiles(this.root))}`;
    if (configStamp !== this.configStamp) {
      this.configStamp = configStamp;
      this.excludesFile = isRepo ? await excludesFilePath(this.root) : '';
    }
    const excludeFiles = [this.excludesFile, join(gitDir, 'info', 'exclude')];
    const excludesStamp = `${isRepo}|${this.excludesFile}|${await filesStamp(excludeFiles)}`;
    if (excludesStamp === this.excludesStamp) return false;
    this.excludesStamp = excludesStamp;
    // Git's exclude files mean nothing outside a repository.
    const excludes = isRepo ? await repoExcludes(this.root, this.excludesFile) : [];
    const changed =
      excludes.length !== this.excludes.length || excludes.some((t, i) => t !== this.excludes[i]);
    this.excludes = excludes;
    return changed;
  }

  /** Asks git what it tracks where its index changed, and hands its view to the tree. */
  private async readTracked(rulesChanged: boolean): Promise<GitRefresh | undefined> {
    const gitDir = join(this.root, '.git');
    const isRepo = await stat(gitDir).then(
      () => true,
      () => false,
    );
    const indexStamp = `${isRepo}|${await filesStamp([join(gitDir, 'index')])}`;
    let tracked = this.tracked;
    if (indexStamp !== this.indexStamp) {
      this.indexStamp = indexStamp;
      tracked = await trackedPaths(this.root);
    }
    if (!rulesChanged && tracked === this.tracked) return undefined;
    const before = this.tracked;
    this.tracked = tracked;
    this.tree.setGitView(tracked, this.excludes);
    return { retracked: retrackedPaths(this.tree.rules, before, tracked), rulesChanged };
  }
}
