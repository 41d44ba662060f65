/**
 * The agent's background pre-warming, beside sync and never in its way:
 * - at start, when DIR has a package-lock.json and no node_modules, restore node_modules from the
 *   hub's snapshot of that lockfile, or install it with `npm ci` when the hub has none;
 * - while it runs, read the imports of source files the agent pushed or applied and warm the npm
 *   packages they need but the tree lacks into the shared npm cache.
 *
 * Nothing runs unasked: installs ignore scripts unless the policy allows them, and every npm run
 * reads only the user config the policy names (see src/prewarm/npm-policy.ts).
 *
 * Invariants: nothing here is awaited by a sync cycle (the agent only calls `noteChanged`, which
 * records paths and arms a timer); at most one warm run at a time, after `debounceMs` of quiet;
 * every failure is logged and counted, never thrown to the agent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Problem } from '../core/protocol.ts';
import { findCandidates } from '../prewarm/candidates.ts';
import type { PrewarmCounter } from '../prewarm/counter.ts';
import { extractJsImports, isJsSource } from '../prewarm/imports-js.ts';
import { parsePackageJson } from '../prewarm/manifests.ts';
import {
  type RestoreOptions,
  type RestoreOutcome,
  restoreNodeModules,
} from '../prewarm/restore-or-install.ts';
import { warmNpm } from '../prewarm/warm-npm.ts';

/** Source paths read per warm run, at most. */
const MAX_PENDING_PATHS = 500;

export interface PrewarmRunnerOptions extends RestoreOptions {
  /** Restore node_modules at start (off with `--no-prewarm` or when node_modules syncs). */
  restore: boolean;
  /** Quiet time after the last noted change before a warm run. Default 2 s. */
  debounceMs?: number;
  /** Where warm runs keep their private caches. Default `$TMPDIR/warmsync-prewarm`. */
  workRoot?: string;
  /** Registry to warm from; default npm's configured one. */
  registry?: string;
}

export class PrewarmRunner {
  private readonly pending = new Set<string>();
  /** Packages already warmed (or tried) by this process: each is fetched at most once. */
  private readonly tried = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> = Promise.resolve();
  private restoring: Promise<RestoreOutcome> = Promise.resolve('present');
  private stopped = false;
  private readonly counter: PrewarmCounter;
  private refused: Problem | undefined;

  constructor(private readonly options: PrewarmRunnerOptions) {
    const metrics = options.metrics;
    this.counter = {
      attempt: (ecosystem) => metrics?.prewarmAttempts.inc({ ecosystem }),
      hit: (ecosystem) => metrics?.prewarmHits.inc({ ecosystem }),
    };
  }

  /** Starts the restore in the background; resolves at once. */
  start(): void {
    if (!this.options.restore) return;
    this.restoring = restoreNodeModules({
      ...this.options,
      onRefused: (message) => {
        this.refused = { path: 'node_modules', code: 'snapshot-refused', message: message.slice(0, 500) };
        this.options.onRefused?.(message);
      },
    });
  }

  /** What the agent reports beside its sync problems: a snapshot that did not match the lockfile. */
  problems(): Problem[] {
    return this.refused ? [this.refused] : [];
  }

  /** Paths (DIR-relative) the agent pushed or applied; cheap, never blocks. */
  noteChanged(paths: readonly string[]): void {
    if (this.stopped) return;
    let any = false;
    for (const path of paths) {
      if (!isJsSource(path) || path.split('/').includes('node_modules')) continue;
      // A first sync or a checkout applies thousands of files; they are not new edits, and
      // parsing them all would cost more than the warming is worth.
      if (this.pending.size >= MAX_PENDING_PATHS) break;
      this.pending.add(path);
      any = true;
    }
    if (!any) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // One run at a time: the next waits for the previous, and takes every path noted meanwhile.
      this.running = this.running.then(() => this.warmPending());
    }, this.options.debounceMs ?? 2000);
  }

  /** Resolves once the restore and every armed or running warm run have finished (for tests). */
  async idle(): Promise<RestoreOutcome> {
    const outcome = await this.restoring;
    while (this.timer || this.pending.size > 0) {
      await new Promise((r) => setTimeout(r, 20));
      await this.running;
    }
    await this.running;
    return outcome;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    await Promise.allSettled([this.restoring, this.running]);
  }

  private async warmPending(): Promise<void> {
    // A restore in progress would make every declared package look cold.
    await this.restoring;
    const paths = [...this.pending];
    this.pending.clear();
    if (this.stopped || paths.length === 0) return;
    try {
      const specs = await this.coldPackages(paths);
      if (specs.length === 0) return;
      this.options.log(`prewarm: warming ${specs.map((s) => s.name).join(', ')}`);
      const outcomes = await warmNpm(specs, {
        sharedCache: this.options.npmCache,
        workRoot: this.options.workRoot ?? join(tmpdir(), 'warmsync-prewarm'),
        counter: this.counter,
        log: (line) => {
          this.options.metrics?.prewarmFailures.inc({ stage: 'warm' });
          this.options.log(line);
        },
        npm: this.options.npm,
        registry: this.options.registry,
        userconfig: this.options.policy.userconfig,
      });
      const warmed = outcomes.filter((o) => o.ok).map((o) => o.spec);
      if (warmed.length > 0) this.options.log(`prewarm: warmed ${warmed.join(', ')}`);
    } catch (error) {
      this.options.metrics?.prewarmFailures.inc({ stage: 'scan' });
      this.options.log(`prewarm: ${(error as Error).message}`);
    }
  }

  /** npm packages imported by `paths` that DIR's node_modules lacks and this process has not tried. */
  private async coldPackages(paths: readonly string[]): Promise<Array<{ name: string; range: string }>> {
    const { dir } = this.options;
    const importedBy = new Map<string, string[]>();
    for (const path of paths) {
      const source = await readFile(join(dir, path), 'utf8').catch(() => undefined);
      if (source === undefined) continue; // deleted since: nothing to import
      for (const name of extractJsImports(path, source).packages)
        importedBy.set(name, [...(importedBy.get(name) ?? []), path]);
    }
    let declared: ReturnType<typeof parsePackageJson>['declared'] = [];
    try {
      declared = parsePackageJson(readFileSync(join(dir, 'package.json'), 'utf8')).declared;
    } catch {
      // No package.json: every import is missing, and warming it still saves the later install.
    }
    const present = new Set(
      [...importedBy.keys()].filter((name) => existsSync(join(dir, 'node_modules', name))),
    );
    const candidates = findCandidates(
      [...importedBy].map(([name, files]) => ({ ecosystem: 'npm' as const, name, importedBy: files })),
      {
        declared: { npm: declared, pypi: [], go: [] },
        present: { npm: present, pypi: new Set(), go: new Set() },
      },
    );
    const fresh = candidates.filter((c) => !this.tried.has(c.name));
    for (const c of fresh) this.tried.add(c.name);
    return fresh.map((c) => ({ name: c.name, range: c.range ?? '' }));
  }
}
