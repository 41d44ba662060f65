/**
 * From a cycle's observations to its plan (core/cycle-plan.ts), and the plan's steps that need
 * neither the hub nor a write recorded at once: deferrals, remote versions done with, versions
 * adopted from the disk, fresh stats. What is left (pushes and writes) goes back to the agent.
 */
import { looksMidWrite, type PathInput, planCycle, withOwnCounters } from '../core/cycle-plan.ts';
import type { ManifestEntry } from '../core/entry.ts';
import type { ModePolicy } from '../core/sync-mode.ts';
import type { ApplyItem } from './applier.ts';
import type { ObserveDeps } from './cycle-observe.ts';
import type { IntentSettler } from './intent-settler.ts';
import type { Observation } from './local-tree.ts';
import type { PendingPush, Pusher } from './pusher.ts';
import type { RemoteWriter } from './remote-writer.ts';
import type { Scheduler } from './scheduler.ts';

/** The parts of the agent a cycle works with (the tree's ignore rules are taken as they are now). */
export interface CycleParts extends ObserveDeps {
  agentId: string;
  /** Remote versions waiting, by path (the remote feed's). */
  pending: Map<string, ManifestEntry>;
  pusher: Pusher;
  scheduler: Scheduler;
  writer: RemoteWriter;
  intents: IntentSettler;
  /** What the path's sync mode allows (a path being reverted counts as a replica's). */
  policyOf: (path: string, isDir: boolean) => ModePolicy;
}

/**
 * Plans every observed path and records the steps that are state alone. A watcher path that
 * looks mid-write is put off (once) instead of planned. Returns the pushes and writes to do.
 */
export function planAndRecord(
  deps: CycleParts,
  observed: ReadonlyMap<string, Observation>,
  fromWatcher: boolean,
): { pushes: PendingPush[]; applies: ApplyItem[]; keptLocal: string[] } {
  const { state, pending } = deps;
  const now = Date.now();
  const inputs: PathInput[] = [];
  for (const [path, obs] of observed) {
    const midWrite = looksMidWrite(obs.content, obs.unsettled ?? false, state.base(path)?.content);
    if (fromWatcher && deps.scheduler.putOffOnce(path, midWrite)) continue;
    const remote = pending.get(path);
    const deferred = state.deferred.get(path);
    inputs.push({
      path,
      local: obs.content,
      unknown: obs.unknown,
      reread: obs.stat !== undefined && obs.bytes !== undefined,
      // An unknown state settles nothing: the disk cannot tell whether a write happened.
      base: obs.unknown ? state.base(path) : deps.intents.settleWrite(path, obs),
      remote,
      retryAt: remote && deferred?.entry.seq === remote.seq ? deferred.retryAt : undefined,
      refused: deps.pusher.wasRefused(path, obs.content),
      policy: deps.policyOf(path, obs.content.kind === 'dir'),
      withheld: state.withheld.get(path),
    });
  }
  const plan = planCycle(deps.agentId, now, deps.tree.rules, inputs);
  for (const { entry, problem } of plan.defer) deps.writer.defer(entry, problem, now);
  for (const path of plan.settled) pending.delete(path);
  for (const path of plan.refreshStat) {
    const base = state.base(path)!;
    state.setBase(path, {
      ...base,
      stat: observed.get(path)!.stat,
      statAt: Date.now(),
      ownWrite: false,
      statProves: false,
    });
  }
  for (const path of plan.release) state.setWithheld(path, undefined);
  for (const entry of plan.withhold) {
    // Out of `pending` so the cursor moves on; kept in the state so nothing of it is forgotten.
    pending.delete(entry.path);
    state.setWithheld(entry.path, entry);
  }
  for (const { path, content, vector } of plan.adopt) {
    pending.delete(path);
    state.setBase(path, { content, vector, stat: observed.get(path)!.stat, statAt: Date.now() });
    deps.pusher.remember(content);
  }
  return {
    pushes: plan.push.map((p) => ({ ...p, obs: observed.get(p.path)! })),
    applies: plan.apply.map((entry) => ({ entry, obs: observed.get(entry.path)! })),
    keptLocal: plan.keptLocal,
  };
}

/**
 * Gives each push a fresh value of the agent's durable counter as its own entry in the vector,
 * reserved (written to disk) before the push: a vector is never reused, even when a crash lost
 * the bases of the last push.
 */
export function reserveCounters(deps: Pick<CycleParts, 'agentId' | 'state'>, pushes: PendingPush[]): void {
  if (pushes.length === 0) return;
  const first = deps.state.reserveCounter(pushes.length);
  const vectors = withOwnCounters(
    pushes.map((p) => p.vector),
    deps.agentId,
    first,
  );
  pushes.forEach((p, i) => {
    p.vector = vectors[i]!;
  });
}
