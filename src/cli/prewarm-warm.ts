/**
 * `warmsync prewarm --warm`: hands each ecosystem's candidates to its warmer (npm's cache, a wheel
 * folder for pip, a module cache for Go), one ecosystem after the other, and gathers what landed. Every
 * failure becomes a line in `problems`; nothing here throws for a package.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Candidate } from '../prewarm/candidates.ts';
import type { PrewarmCounter } from '../prewarm/counter.ts';

/** Where each ecosystem is warmed to and from. */
export interface WarmTargets {
  npmCache: string;
  /** The npm config to read (the user's own, never the workspace's). */
  userconfig: string;
  /** The shared wheel folder (`pip install --no-index --find-links DIR`). */
  pipCache: string;
  /** Simple index URL; undefined: the one in the user's pip configuration. */
  pipIndexUrl: string | undefined;
  /** The shared module cache (`GOMODCACHE=DIR GOPROXY=off GOFLAGS=-mod=mod`). */
  goCache: string;
  /** GOPROXY; undefined: the user's. */
  goproxy: string | undefined;
  /** The workspace's go.sum hashes, which a warmed module must match where it lists them. */
  goSums: ReadonlyMap<string, string>;
}

/**
 * Warms `candidates` into `targets`, counting attempts and hits on `counter`. Resolves with the
 * specs that landed: npm's, then pip's, then Go's.
 */
export async function warmCandidates(
  candidates: readonly Candidate[],
  targets: WarmTargets,
  counter: PrewarmCounter,
  problems: string[],
): Promise<string[]> {
  const workRoot = join(tmpdir(), 'warmsync-prewarm');
  const log = (message: string): void => {
    problems.push(message);
  };
  const of = (ecosystem: Candidate['ecosystem']) =>
    candidates.filter((c) => c.ecosystem === ecosystem).map((c) => ({ name: c.name, range: c.range ?? '' }));
  const warmed: string[] = [];
  const npm = of('npm');
  if (npm.length > 0) {
    const { warmNpm } = await import('../prewarm/warm-npm.ts');
    const outcomes = await warmNpm(npm, {
      sharedCache: targets.npmCache,
      workRoot,
      counter,
      log,
      userconfig: targets.userconfig,
    });
    warmed.push(...outcomes.filter((o) => o.ok).map((o) => o.spec));
  }
  const pypi = of('pypi');
  if (pypi.length > 0) {
    const { warmPip } = await import('../prewarm/warm-pip.ts');
    const outcomes = await warmPip(pypi, {
      sharedCache: targets.pipCache,
      workRoot,
      counter,
      log,
      indexUrl: targets.pipIndexUrl,
    });
    warmed.push(...outcomes.filter((o) => o.ok).map((o) => o.spec));
  }
  const go = of('go');
  if (go.length > 0) {
    const { warmGo } = await import('../prewarm/warm-go.ts');
    const outcomes = await warmGo(
      go.map((spec) => ({ path: spec.name, version: spec.range })),
      {
        sharedCache: targets.goCache,
        workRoot,
        counter,
        log,
        goproxy: targets.goproxy,
        sums: targets.goSums,
      },
    );
    warmed.push(...outcomes.filter((o) => o.ok).map((o) => o.spec));
  }
  return warmed;
}
