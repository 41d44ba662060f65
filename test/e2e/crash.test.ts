/**
 * Crashes at many points lose nothing: this repository's own first commits of `src/` are replayed
 * onto agent A's folder step by step, as checkouts would write them, while agent B makes edits of
 * its own (notes only B touches), and a seeded schedule SIGKILLs an agent or the hub and starts
 * it again on the same folder, state and data: right after a step is written, some way into a
 * push or an apply, during the catch-up after a restart, the moment the hub commits a push, or
 * the moment a remote version lands in a folder (each followed by an edit that a lost answer or
 * a lost write would turn into a resurrected file or a conflict copy). In the end both folders
 * hold exactly the last commit plus B's last edits: no edit lost, no conflict copy (no two edits
 * were concurrent), no temporary file left behind, and `--once` agrees on both sides.
 * Replay a failure with TEST_SEED=<seed> (the seed is printed by every run); WARMSYNC_TEST_LOG=1
 * prints what the test did and every process's output.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubClient } from '../../src/agent/client.ts';
import type { ManifestEntry } from '../../src/core/entry.ts';
import { TEMP_FILE_PREFIX } from '../../src/core/paths.ts';
import { statusSchema } from '../../src/core/protocol.ts';
import { checkoutStep, type GitTree, loadHistory } from '../helpers/git-replay.ts';
import { cleanup, describeTree, tempDir, waitConverged, waitUntil } from '../helpers/harness.ts';
import { freePort, stopAllCli, waitHealthy } from '../helpers/processes.ts';
import { Random, testSeed } from '../helpers/random.ts';
import { Restartable } from '../helpers/restartable.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

const REPO = join(import.meta.dir, '..', '..');
const WORKSPACE = 'crash';
/** Commits replayed per test: enough for adds, edits, an executable bit, moves and deletions. */
const COMMITS = 36;
const history = (() => {
  try {
    return loadHistory(REPO, 'src', COMMITS);
  } catch {
    return undefined; // Not a git clone (a package tarball): nothing to replay.
  }
})();
const EMPTY_TREE: GitTree = new Map();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** With WARMSYNC_TEST_LOG=1, what the test does, timed like the hub's audit log. */
const trace = (line: string) => {
  if (process.env.WARMSYNC_TEST_LOG) console.log(`[test ${new Date().toISOString()}] ${line}`);
};

function hubProcess(data: string, port: number): Restartable {
  return new Restartable('hub', ['serve', '--data', data, '--port', String(port), '--no-auth']);
}

function agentProcess(name: string, dir: string, url: string, state: string, once = false): Restartable {
  const args = ['agent', dir, '--server', url, '--workspace', WORKSPACE, '--state', state, '--no-prewarm'];
  return new Restartable(name, once ? [...args, '--once'] : args);
}

/**
 * The other side's own edits: notes under `b-notes/` that only agent B's folder ever changes,
 * created, rewritten, deleted and undone by seeded choice, each mirrored into the expected tree.
 */
class OwnEdits {
  /** Live notes and their content. */
  private readonly notes = new Map<string, string>();
  private last: { name: string; before: string | undefined } | undefined;
  private made = 0;

  constructor(
    private readonly random: Random,
    private readonly dir: string,
    private readonly expected: string,
  ) {}

  /** One edit (a new note, a rewrite or a deletion of one; only writes when told): its note. */
  step(only?: 'write'): string {
    const ops = only ? (['create', 'rewrite'] as const) : (['create', 'rewrite', 'delete'] as const);
    const op = this.notes.size === 0 ? 'create' : this.random.pick(ops);
    const name =
      op === 'create' ? `b-notes/note-${this.made++}.txt` : this.random.pick([...this.notes.keys()]);
    this.set(name, op === 'delete' ? undefined : this.text(name));
    return name;
  }

  /** Writes `name` again with new content (creating it if it is gone). */
  touch(name: string): void {
    this.set(name, this.text(name));
  }

  /** Undoes the last edit, as an editor would: the note it created is deleted, else restored. */
  undo(): void {
    if (this.last) this.set(this.last.name, this.last.before);
  }

  private text(name: string): string {
    const line = `${name} on B, seed ${this.random.seed}, draw ${this.random.int(0, 1e6)}\n`;
    return line.repeat(this.random.int(1, 40));
  }

  private set(name: string, content: string | undefined): void {
    trace(`B's folder: ${content === undefined ? 'delete' : 'write'} ${name}`);
    this.last = { name, before: this.notes.get(name) };
    for (const root of [this.dir, this.expected]) {
      if (content === undefined) rmSync(join(root, name), { force: true });
      else {
        mkdirSync(join(root, 'b-notes'), { recursive: true });
        writeFileSync(join(root, name), content);
      }
    }
    if (content === undefined) this.notes.delete(name);
    else this.notes.set(name, content);
  }
}

/**
 * Resolves at the first filesystem event under `root` whose path passes `accept`, or after
 * `timeoutMs` (a step that causes none must not hang the test). Watching starts at the call.
 */
function nextEvent(root: string, accept: (path: string) => boolean, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(root, { recursive: true }, (_event, name) => {
      if (name && accept(String(name))) done();
    });
    const timer = setTimeout(() => done(), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      watcher.close();
      resolve();
    };
  });
}

/** A version renamed into place (or a folder made, or a file removed) under `prefix`. */
const appliedUnder = (prefix: string) => (path: string) =>
  (path === prefix || path.startsWith(`${prefix}/`)) && !path.split('/').pop()!.startsWith(TEMP_FILE_PREFIX);
/** The hub writing its database: a push being committed. */
const hubCommit = (path: string) => path === 'warmsync.db-wal';

/** Paths under `root` whose name marks a conflict copy or a temporary file. */
function strayPaths(root: string): { conflicts: string[]; temps: string[] } {
  const conflicts: string[] = [];
  const temps: string[] = [];
  const walk = (prefix: string) => {
    for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.name.startsWith(TEMP_FILE_PREFIX)) temps.push(path);
      if (entry.name.includes('.conflict-')) conflicts.push(path);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk('');
  return { conflicts, temps };
}

/** The hub's whole manifest (tombstones included), by path. */
async function hubManifest(url: string): Promise<Map<string, ManifestEntry>> {
  const client = new HubClient({ server: url, workspace: WORKSPACE, agentId: '00000000000000ff' });
  const out = new Map<string, ManifestEntry>();
  for (let since = 0; ; ) {
    const page = await client.changes(since);
    for (const entry of page.entries) out.set(entry.path, entry);
    if (!page.more || page.entries.length === 0) return out;
    since = page.entries[page.entries.length - 1]!.seq;
  }
}

async function hubConflicts(url: string): Promise<number> {
  const status = statusSchema.parse(await (await fetch(`${url}/v1/status`)).json());
  return status.workspaces.find((w) => w.name === WORKSPACE)?.conflicts ?? 0;
}

interface World {
  seed: number;
  random: Random;
  url: string;
  hubData: string;
  hub: Restartable;
  dirA: string;
  dirB: string;
  expected: string;
  a: Restartable;
  b: Restartable;
  stateA: string;
  stateB: string;
  edits: OwnEdits;
}

async function startWorld(seed: number): Promise<World> {
  const random = new Random(seed);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const hubData = tempDir('warmsync-hubdata-');
  const hub = hubProcess(hubData, port);
  hub.start();
  await waitHealthy(url);
  const [dirA, dirB, expected] = [tempDir(), tempDir(), tempDir('warmsync-expected-')];
  const [stateA, stateB] = [tempDir('warmsync-state-'), tempDir('warmsync-state-')];
  const a = agentProcess('agent A', dirA, url, stateA);
  const b = agentProcess('agent B', dirB, url, stateB);
  a.start();
  b.start();
  return {
    seed,
    random,
    url,
    hubData,
    hub,
    dirA,
    dirB,
    expected,
    a,
    b,
    stateA,
    stateB,
    edits: new OwnEdits(random, dirB, expected),
  };
}

/** Writes commit `index` of the replay onto A's folder and the expected tree. */
function replayStep(world: World, index: number): void {
  trace(`A's folder: commit ${index}`);
  const commits = history!.commits;
  const from = index === 0 ? EMPTY_TREE : commits[index - 1]!.tree;
  const to = commits[index]!.tree;
  checkoutStep(world.dirA, from, to, history!.blobs);
  checkoutStep(world.expected, from, to, history!.blobs);
}

/**
 * With everything running: both folders reach the expected tree, hold no conflict copy and no
 * temporary file, the hub counts no conflict, and `--once` on each side then exits 0 with the
 * folders unchanged.
 */
async function assertSettled(world: World): Promise<void> {
  const { seed, dirA, dirB, expected } = world;
  await waitConverged([expected, dirA, dirB], `both folders to reach the last commit (seed ${seed})`, 60_000);
  // A timeout falls through to the check below, which names what was left.
  await waitUntil(
    () => strayPaths(dirA).temps.length === 0 && strayPaths(dirB).temps.length === 0,
    `the temporary files to be swept (seed ${seed})`,
    60_000,
  ).catch(() => {});
  for (const dir of [dirA, dirB])
    expect(strayPaths(dir), `seed ${seed}`).toEqual({ conflicts: [], temps: [] });
  expect(await hubConflicts(world.url), `conflicts on the hub (seed ${seed})`).toBe(0);

  await world.a.kill('SIGTERM');
  await world.b.kill('SIGTERM');
  for (const [name, dir, state] of [
    ['A', dirA, world.stateA],
    ['B', dirB, world.stateB],
  ] as const) {
    const once = agentProcess(`--once ${name}`, dir, world.url, state, true);
    once.start();
    const code = await once.lives[0]!.process.exited;
    expect(code, `--once on ${name} (seed ${seed}):\n${once.tail()}`).toBe(0);
  }
  expect([...describeTree(dirA)]).toEqual([...describeTree(expected)]);
  expect([...describeTree(dirB)]).toEqual([...describeTree(expected)]);
}

/**
 * Runs `body`; on failure, adds the seed and the last output of every process to the error.
 * WARMSYNC_TEST_LOG=1 prints every process's whole output at the end, pass or fail.
 */
async function reporting(world: World, body: () => Promise<void>): Promise<void> {
  const processes = [world.hub, world.a, world.b];
  try {
    await body();
  } catch (error) {
    const tails = processes.map((p) => p.tail()).join('\n');
    (error as Error).message = `seed ${world.seed}: ${(error as Error).message}\n${tails}`;
    throw error;
  } finally {
    if (process.env.WARMSYNC_TEST_LOG) for (const p of processes) console.log(p.tail(Infinity));
  }
}

/** Steps (commit indexes) after which something is killed: `count` distinct ones, first and last spared. */
function killSteps(random: Random, steps: number, count: number): Set<number> {
  const out = new Set<number>();
  while (out.size < Math.min(count, steps - 2)) out.add(random.int(1, steps - 2));
  return out;
}

/** When, relative to a step, an agent is killed. */
const AGENT_MOMENTS = ['after-write', 'mid-sync', 'catch-up', 'on-commit', 'on-arrival'] as const;
/** When, relative to a step, the hub is killed. */
const HUB_MOMENTS = ['after-write', 'mid-sync', 'on-commit'] as const;

describe.skipIf(!history || history.commits.length < 10)('SIGKILL at many points', () => {
  it('agents killed mid-write, mid-push, mid-apply and mid-catch-up lose no edit', async () => {
    const seed = testSeed();
    console.log(`crash test (agent kills): seed ${seed}; replay with TEST_SEED=${seed}`);
    const world = await startWorld(seed);
    const { random, edits } = world;
    const steps = history!.commits.length;
    const killAt = killSteps(random, steps, 10);
    /** Agents down, with the step before which each comes back. */
    const down = new Map<Restartable, number>();
    let next = 0;
    let kills = 0;
    /** Writes the next commit onto A's folder; B sometimes makes an edit of its own meanwhile. */
    const advance = () => {
      replayStep(world, next++);
      if (random.int(0, 2) === 0) edits.step();
    };

    /**
     * Writes the next step and kills `victim` at `moment` of it:
     * - after-write: at once (A reading the step, B before anything arrives);
     * - mid-sync: some way into A's push or B's fetch and writes;
     * - catch-up: at once, then down for a step, back, and killed again while it catches up;
     * - on-commit: the moment the hub commits the victim's push (A's step, or an edit B makes
     *   now), before the agent can record the answer; B's edit is then undone while it is down;
     * - on-arrival: the moment a remote version lands in the victim's folder (A's step on B, or
     *   an edit B makes now on A), before the agent can record it; B then edits that note again.
     */
    const killAgent = async (victim: Restartable, moment: (typeof AGENT_MOMENTS)[number]) => {
      const isA = victim === world.a;
      let afterKill: (() => void) | undefined;
      if (moment === 'on-commit' && isA) {
        const committed = nextEvent(world.hubData, hubCommit);
        advance();
        await committed;
      } else if (moment === 'on-arrival' && !isA) {
        const arrived = nextEvent(world.dirB, appliedUnder('src'));
        advance();
        await arrived;
      } else if (moment === 'on-commit' || moment === 'on-arrival') {
        // B's own edit, once A's step has had time to go through.
        advance();
        await sleep(random.int(100, 300));
        const event =
          moment === 'on-commit'
            ? nextEvent(world.hubData, hubCommit)
            : nextEvent(world.dirA, appliedUnder('b-notes'));
        const note = edits.step(moment === 'on-arrival' ? 'write' : undefined);
        await event;
        afterKill = moment === 'on-commit' ? () => edits.undo() : () => edits.touch(note);
      } else {
        advance();
        if (moment === 'mid-sync') await sleep(random.int(5, 400));
      }
      await victim.kill();
      trace(`killed ${victim.name} ${moment}`);
      kills++;
      afterKill?.();
      if (moment === 'catch-up' && next < steps) {
        advance();
        victim.start();
        await sleep(random.int(50, 900));
        await victim.kill();
        trace(`killed ${victim.name} again, catching up`);
        kills++;
      }
    };

    await reporting(world, async () => {
      while (next < steps) {
        for (const [agent, back] of down)
          if (back <= next) {
            agent.start();
            down.delete(agent);
          }
        const running = [world.a, world.b].filter((x) => x.running);
        if (killAt.has(next) && running.length > 0) {
          const victim = random.pick(running);
          await killAgent(victim, random.pick(AGENT_MOMENTS));
          // Back at once, or after one or two more steps were written meanwhile.
          const stepsDown = random.int(0, 2);
          if (stepsDown === 0) victim.start();
          else down.set(victim, next + stepsDown);
        } else advance();
        await sleep(random.int(0, 250));
      }
      for (const agent of down.keys()) agent.start();
      console.log(`crash test (agent kills): ${kills} kill(s) over ${steps} commits`);
      await assertSettled(world);
    });
  }, 150_000);

  it('a hub killed at random points keeps every acknowledged edit, and agents reconnect', async () => {
    const seed = testSeed();
    console.log(`crash test (hub kills): seed ${seed}; replay with TEST_SEED=${seed}`);
    const world = await startWorld(seed);
    const { random } = world;
    const steps = history!.commits.length;
    const killAt = killSteps(random, steps, 8);
    /** The hub's manifest before the kill, and the step after which the hub comes back. */
    let downSince: { acknowledged: Map<string, ManifestEntry>; back: number } | undefined;
    let kills = 0;
    const restart = async () => {
      world.hub.start();
      await waitHealthy(world.url);
      // What the hub had answered before the kill was committed: all of it is still there.
      const now = await hubManifest(world.url);
      for (const [path, entry] of downSince!.acknowledged) {
        const after = now.get(path);
        expect(after && after.seq >= entry.seq, `${path} at seq ${entry.seq}, lost by the kill`).toBe(true);
        if (after?.seq === entry.seq) expect(after.content).toEqual(entry.content);
      }
      downSince = undefined;
    };
    await reporting(world, async () => {
      for (let step = 0; step < steps; step++) {
        if (downSince && downSince.back < step) await restart();
        // Right after the step is written (A pushing it), some way into its sync, or the moment
        // the hub commits a push (its answer then lost: the agent sends the push again).
        const moment = !downSince && killAt.has(step) ? random.pick(HUB_MOMENTS) : undefined;
        const acknowledged = moment ? await hubManifest(world.url) : undefined;
        const committed = moment === 'on-commit' ? nextEvent(world.hubData, hubCommit) : undefined;
        replayStep(world, step);
        if (random.int(0, 2) === 0) world.edits.step();
        if (moment) {
          if (moment === 'mid-sync') await sleep(random.int(5, 400));
          await committed;
          await world.hub.kill();
          trace(`killed the hub ${moment}`);
          kills++;
          // Back at once, or after one or two more steps were written meanwhile.
          downSince = { acknowledged: acknowledged!, back: step + random.int(0, 2) };
          if (downSince.back === step) await restart();
        }
        await sleep(random.int(0, 250));
      }
      if (downSince) await restart();
      console.log(`crash test (hub kills): ${kills} kill(s) over ${steps} commits`);
      await assertSettled(world);
    });
  }, 150_000);
});
