/**
 * Sync modes: which way changes flow for a path on one agent.
 *
 * - `two-way`: local edits are pushed, remote versions applied (the default).
 * - `send-only`: local edits are pushed; remote versions are never written here.
 * - `receive-only`: remote versions are applied; local edits stay local (listed, and
 *   `warmsync revert` drops them). A remote version never overwrites a local edit either: the
 *   path waits, diverged, until reverted.
 * - `replica`: an exact mirror of the workspace; local edits are overwritten and local-only
 *   files removed, nothing is pushed.
 *
 * An agent has one mode (`--mode`, or the project file's `mode`) and the project file's path
 * rules override it per path: the last rule whose pattern matches a path (or one of its folders)
 * wins, as in a .gitignore. A rule may name a role, so one shared file can say "node_modules/ is
 * sent from the container and a replica on the laptop".
 *
 * @example
 * const modes = new ModeMap('two-way', [{ path: 'node_modules/', mode: 'replica' }]);
 * modes.modeOf('node_modules/a/index.js'); // 'replica'
 */
import ignore, { type Ignore } from 'ignore';
import { parentPath } from './paths.ts';

export const SYNC_MODES = ['two-way', 'send-only', 'receive-only', 'replica'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/** What a mode lets the agent do with a path. */
export interface ModePolicy {
  /** Local edits go to the hub. */
  push: boolean;
  /** Remote versions are written to disk. */
  apply: boolean;
  /** A local edit is replaced by the workspace's version (and a local-only file removed). */
  overwriteLocal: boolean;
}

const POLICIES: Record<SyncMode, ModePolicy> = {
  'two-way': { push: true, apply: true, overwriteLocal: false },
  'send-only': { push: true, apply: false, overwriteLocal: false },
  'receive-only': { push: false, apply: true, overwriteLocal: false },
  replica: { push: false, apply: true, overwriteLocal: true },
};

export function policyOf(mode: SyncMode): ModePolicy {
  return POLICIES[mode];
}

/** One path rule as the project file states it. */
export interface ModeRule {
  path: string;
  mode: SyncMode;
  role?: string;
}

/**
 * The mode of every path for one agent: its own mode, overridden by the path rules. The last rule
 * (in file order) that matches the path or one of its folders decides, so a later, narrower rule
 * refines an earlier, broader one and the order in the file is the order of precedence.
 */
export class ModeMap {
  private readonly rules: { matcher: Ignore; mode: SyncMode }[];
  /** Each folder's deciding rule index (-1: none), since every path below a folder asks again. */
  private readonly folderRule = new Map<string, number>();

  constructor(
    readonly agentMode: SyncMode,
    rules: readonly ModeRule[] = [],
    role?: string,
  ) {
    this.rules = rules
      .filter((rule) => rule.role === undefined || rule.role === role)
      .map((rule) => ({ matcher: ignore({ ignorecase: false }).add(rule.path), mode: rule.mode }));
  }

  /** True when every path has the agent's own mode. */
  get uniform(): boolean {
    return this.rules.length === 0;
  }

  /** The modes some path of this agent can have. */
  modesInUse(): Set<SyncMode> {
    return new Set([this.agentMode, ...this.rules.map((rule) => rule.mode)]);
  }

  /** The mode of `path` (a file, or a folder when `isDir`). */
  modeOf(path: string, isDir = false): SyncMode {
    if (this.rules.length === 0) return this.agentMode;
    const parent = parentPath(path);
    const index = Math.max(
      this.lastMatch(isDir ? `${path}/` : path),
      parent === '' ? -1 : this.folderIndex(parent),
    );
    return index < 0 ? this.agentMode : this.rules[index]!.mode;
  }

  policyOf(path: string, isDir = false): ModePolicy {
    return POLICIES[this.modeOf(path, isDir)];
  }

  private folderIndex(dir: string): number {
    const known = this.folderRule.get(dir);
    if (known !== undefined) return known;
    const parent = parentPath(dir);
    const index = Math.max(this.lastMatch(`${dir}/`), parent === '' ? -1 : this.folderIndex(parent));
    this.folderRule.set(dir, index);
    return index;
  }

  /** The index of the last rule matching the probe itself, or -1. */
  private lastMatch(probe: string): number {
    for (let i = this.rules.length - 1; i >= 0; i--) if (this.rules[i]!.matcher.ignores(probe)) return i;
    return -1;
  }
}
