/**
 * What `warmsync prewarm` needs to know about its snapshot modes before loading them: their help
 * text and whether the arguments ask for them. Kept apart so prediction never loads the snapshot
 * code and a restore never loads the prediction code.
 */

export const SNAPSHOT_HELP = `Dependency snapshots:
  warmsync prewarm DIR --server URL --workspace NAME [--token T] [--ca FILE] [--npm-cache DIR]
                   [--npmrc FILE]
      installs DIR's package-lock.json with npm ci --ignore-scripts in a throwaway folder and
      uploads the tarball of every package it placed to the hub as the snapshot of that
      lockfile (only chunks the hub lacks travel)
  warmsync prewarm DIR --restore --server URL --workspace NAME [--token T] [--ca FILE] [--npm-cache DIR]
                   [--npmrc FILE] [--allow-scripts]
      when DIR has a package-lock.json and no node_modules: restores node_modules from the
      hub's snapshot of that lockfile, refusing it unless every package matches the
      lockfile's integrity, or runs npm ci when there is none (what the agent does when it
      starts); install scripts run only with --allow-scripts
  --npmrc FILE names the npm config (registry, auth) in place of your own; an .npmrc in DIR
  is never read.
  --ca FILE (or WARMSYNC_CA) also trusts a private CA for an https:// hub's certificate`;

/** True when `args` ask for snapshot work rather than prediction. */
export function wantsSnapshot(args: readonly string[]): boolean {
  return args.some((a) => a === '--server' || a.startsWith('--server=') || a === '--restore');
}
