/**
 * Randomised convergence under faults: three agents apply seeded random operations while chunks
 * vanish from the hub's disk and an agent is stopped and started again on its state; one agent
 * works on a case-insensitive folder and renames files there by case only. Afterwards every tree
 * is identical, every file holds content some operation wrote, and every path only one agent
 * touched ends as that agent left it. Replay a failure with TEST_SEED=<seed>.
 */
import { afterEach, expect, it } from 'bun:test';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { mountCaseInsensitive } from '../helpers/casefold-fs.ts';
import { loseChunk as loseStoredChunk, storedChunks } from '../helpers/chunk-files.ts';
import {
  cleanup,
  createAgent,
  describeTree,
  startAgent,
  startHub,
  tempDir,
  waitConverged,
} from '../helpers/harness.ts';
import { Random, testSeed } from '../helpers/random.ts';

afterEach(cleanup);

const SHARED = ['a.txt', 'b.ts', 'd/e.txt', 'd/f.js', 'g/h/i.txt'];
/** Only the case-insensitive agent touches these; it renames them by case (`ci/x.md` -> `ci/X.md`). */
const FOLDED = ['ci/notes.md', 'ci/Lib/util.ts', 'ci/readme.txt'];

it('converges with lost chunks, a restarted agent and case-only renames on a case-insensitive folder', async () => {
  const seed = testSeed();
  const random = new Random(seed);
  const data = join(tempDir('warmsync-hub-'), 'data');
  const hub = startHub({ dataDir: data });
  const mount = await mountCaseInsensitive();
  const dirs = [
    mount?.dir ?? tempDir('warmsync-tree-'),
    tempDir('warmsync-tree-'),
    tempDir('warmsync-tree-'),
  ];
  const states = dirs.map(() => tempDir('warmsync-state-'));
  const agents: Agent[] = [];
  for (const [i, dir] of dirs.entries()) agents.push(await startAgent(hub, { dir, stateDir: states[i] }));
  const written = new Set<string>();
  const touched = new Map<string, Map<number, string | null>>();
  const touch = (path: string, who: number, content: string | null) => {
    const map = touched.get(path) ?? new Map();
    map.set(who, content);
    touched.set(path, map);
  };
  let opId = 0;
  let lostChunks = 0;
  let caseRenames = 0;

  const write = (who: number, path: string) => {
    const text = `op ${opId++} by ${who} seed ${seed}\n`.repeat(random.int(1, 400));
    mkdirSync(join(dirs[who]!, path, '..'), { recursive: true });
    writeFileSync(join(dirs[who]!, path), text);
    written.add(text);
    touch(path, who, text);
  };
  /** Renames a file of the folded set to its other spelling, as one rename on the folding disk. */
  const respell = (path: string) => {
    const dir = dirs[0]!;
    const base = path.slice(path.lastIndexOf('/') + 1);
    const other = base === base.toLowerCase() ? base.toUpperCase() : base.toLowerCase();
    const from = join(dir, path);
    if (!existsSync(from) || !lstatSync(from).isFile()) return path;
    const next = `${path.slice(0, path.length - base.length)}${other}`;
    renameSync(from, join(dir, next));
    touch(path, 0, null);
    touch(next, 0, readFileSync(join(dir, next), 'utf8'));
    caseRenames++;
    return next;
  };
  const folded = [...FOLDED];

  const step = (who: number) => {
    try {
      if (who === 0 && random.int(0, 2) === 0) {
        const i = random.int(0, folded.length - 1);
        if (!existsSync(join(dirs[0]!, folded[i]!))) write(0, folded[i]!);
        else if (random.int(0, 1) === 0) folded[i] = respell(folded[i]!);
        else write(0, folded[i]!);
        return;
      }
      const path = SHARED[random.int(0, SHARED.length - 1)]!;
      const absolute = join(dirs[who]!, path);
      const op = random.int(0, 5);
      if (op <= 3) write(who, path);
      else if (op === 4 && existsSync(absolute)) {
        rmSync(absolute, { recursive: true });
        touch(path, who, null);
      } else if (existsSync(absolute) && lstatSync(absolute).isFile()) {
        const next = `${readFileSync(absolute, 'utf8')}append ${opId++} by ${who}\n`;
        writeFileSync(absolute, next);
        written.add(next);
        touch(path, who, next);
      }
    } catch {
      // A folder where a file is expected (or the reverse) after a sync: a no-op for this step.
    }
  };
  const loseChunk = () => {
    const hashes = storedChunks(join(data, 'chunks'));
    if (hashes.length === 0) return;
    loseStoredChunk(join(data, 'chunks'), hashes[random.int(0, hashes.length - 1)]!);
    lostChunks++;
  };
  const run = async (who: number) => {
    for (let i = 0; i < 80; i++) {
      step(who);
      if (who === 1 && i === 30) {
        // Stopped mid-run and started again on the same folder and state, edits made meanwhile.
        await agents[1]!.stop();
        write(1, SHARED[random.int(0, SHARED.length - 1)]!);
        agents[1] = createAgent(hub, { dir: dirs[1], stateDir: states[1] });
        await agents[1]!.start();
      }
      if (random.int(0, 9) === 0) loseChunk();
      if (random.int(0, 3) === 0) await new Promise((r) => setTimeout(r, random.int(0, 15)));
    }
  };
  await Promise.all([run(0), run(1), run(2)]);
  console.log(
    `convergence with faults: seed ${seed}, ${opId} writes, ${lostChunks} chunks lost, ${caseRenames} case-only renames${mount ? '' : ' (no case-insensitive mount on this machine)'}`,
  );
  await waitConverged(dirs, `convergence with faults (seed ${seed})`, 90_000);

  const tree = describeTree(dirs[1]!);
  for (const [path, kind] of tree) {
    if (!kind.startsWith('file:')) continue;
    const text = readFileSync(join(dirs[1]!, path), 'utf8');
    expect(written.has(text), `unexpected content at ${path} (seed ${seed})`).toBe(true);
  }
  for (const [path, byAgent] of touched) {
    if (byAgent.size !== 1) continue;
    const last = [...byAgent.values()][0];
    if (last === null || last === undefined) continue;
    const absolute = join(dirs[1]!, path);
    expect(existsSync(absolute) && lstatSync(absolute).isFile(), `${path} vanished (seed ${seed})`).toBe(
      true,
    );
    expect(readFileSync(absolute, 'utf8'), `${path} lost its last version (seed ${seed})`).toBe(last);
  }
  // The Linux trees hold each folded name under the spelling the case-insensitive side left.
  for (const path of folded) {
    if (touched.get(path)?.get(0))
      expect(readdirSync(join(dirs[1]!, path, '..'))).toContain(path.slice(path.lastIndexOf('/') + 1));
  }
}, 180_000);
