/**
 * Randomised convergence: three agents apply hundreds of seeded random operations concurrently.
 * Afterwards every tree is identical, no file holds content that no operation wrote, and every
 * path only one agent ever touched ends with that agent's last version.
 * Replay a failure with TEST_SEED=<seed>.
 */
import { afterEach, expect, it } from 'bun:test';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cleanup, describeTree, startAgent, startHub, waitConverged } from '../helpers/harness.ts';
import { Random, testSeed } from '../helpers/random.ts';

afterEach(cleanup);

const NAMES = ['a.txt', 'b.ts', 'c.md', 'd/e.txt', 'd/f.js', 'g/h/i.txt', 'g/j.txt', 'k.bin'];

it('converges after hundreds of concurrent random operations on three agents', async () => {
  const seed = testSeed();
  const random = new Random(seed);
  const hub = startHub();
  const agents = [await startAgent(hub), await startAgent(hub), await startAgent(hub)];
  const dirs = agents.map((a) => a.tree.root);
  const written = new Set<string>();
  /** path -> agents that ever touched it, and the last content each wrote. */
  const touched = new Map<string, Map<number, string | null>>();
  const touch = (path: string, who: number, content: string | null) => {
    const map = touched.get(path) ?? new Map();
    map.set(who, content);
    touched.set(path, map);
  };
  let opId = 0;
  const step = (who: number) => {
    const dir = dirs[who]!;
    const path = NAMES[random.int(0, NAMES.length - 1)]!;
    const absolute = join(dir, path);
    const op = random.int(0, 9);
    try {
      if (op <= 3) {
        const text = `op ${opId++} by ${who} seed ${seed}\n`.repeat(random.int(1, 50));
        mkdirSync(join(absolute, '..'), { recursive: true });
        writeFileSync(absolute, text);
        written.add(text);
        touch(path, who, text);
      } else if (op === 4 && existsSync(absolute)) {
        rmSync(absolute, { recursive: true });
        touch(path, who, null);
      } else if (op === 5 && existsSync(absolute) && lstatSync(absolute).isFile()) {
        const target = NAMES[random.int(0, NAMES.length - 1)]!;
        if (target !== path && !existsSync(join(dir, target))) {
          mkdirSync(join(dir, target, '..'), { recursive: true });
          renameSync(absolute, join(dir, target));
          touch(path, who, null);
          touch(target, who, readFileSync(join(dir, target), 'utf8'));
        }
      } else if (op === 6 && existsSync(absolute) && lstatSync(absolute).isFile()) {
        chmodSync(absolute, random.int(0, 1) ? 0o755 : 0o644);
        touch(path, who, readFileSync(absolute, 'utf8'));
      } else if (op === 7) {
        mkdirSync(join(dir, `empty-${random.int(0, 3)}`), { recursive: true });
      } else if (op === 8) {
        const link = join(dir, `link-${random.int(0, 2)}`);
        if (!existsSync(link)) symlinkSync(NAMES[random.int(0, NAMES.length - 1)]!, link);
      } else {
        const text = `append ${opId++} by ${who}\n`;
        if (existsSync(absolute) && lstatSync(absolute).isFile()) {
          const next = readFileSync(absolute, 'utf8') + text;
          writeFileSync(absolute, next);
          written.add(next);
          touch(path, who, next);
        }
      }
    } catch {
      // A folder where a file is expected (or the reverse) after a sync: a no-op for this step.
    }
  };
  const run = async (who: number) => {
    for (let i = 0; i < 120; i++) {
      step(who);
      if (random.int(0, 3) === 0) await new Promise((r) => setTimeout(r, random.int(0, 8)));
    }
  };
  await Promise.all([run(0), run(1), run(2)]);
  await waitConverged(dirs, `convergence (seed ${seed})`, 45_000);
  // Every file holds content some operation wrote (no mixes, no torn writes).
  const tree = describeTree(dirs[0]!);
  for (const [path, kind] of tree) {
    if (!kind.startsWith('file:')) continue;
    const text = readFileSync(join(dirs[0]!, path), 'utf8');
    expect(written.has(text), `unexpected content at ${path} (seed ${seed})`).toBe(true);
  }
  // A path only one agent touched ends as that agent left it.
  for (const [path, byAgent] of touched) {
    if (byAgent.size !== 1) continue;
    const last = [...byAgent.values()][0];
    const absolute = join(dirs[0]!, path);
    if (last === null || last === undefined) continue;
    expect(existsSync(absolute) && lstatSync(absolute).isFile(), `${path} vanished (seed ${seed})`).toBe(
      true,
    );
    expect(readFileSync(absolute, 'utf8'), `${path} lost its last version (seed ${seed})`).toBe(last);
  }
  expect(readdirSync(dirs[0]!).length).toBeGreaterThan(0);
}, 120_000);
