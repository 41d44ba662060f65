/**
 * Scale-out test fixtures: hub replicas on shared PostgreSQL, Redis and chunk folder, direct
 * pushes, and a seeded random workload whose results can be checked for lost edits.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEnvelope } from '../../src/core/frames.ts';
import type { PushResponse } from '../../src/core/protocol.ts';
import { type RunningScaleServer, startScaleServer } from '../../src/server/start-scale.ts';
import { fileChange } from '../helpers/file-change.ts';
import { tempDir } from '../helpers/harness.ts';
import type { Random } from '../helpers/random.ts';

export interface Shared {
  postgres: string;
  redis?: string;
  chunks: string;
}

const replicas: RunningScaleServer[] = [];

/** Starts a replica in this process on a free loopback port; `stopReplicas()` ends them all. */
export async function startReplica(shared: Shared, port = 0): Promise<RunningScaleServer> {
  const replica = await startScaleServer({ ...shared, port, headCheckMs: 500 });
  replicas.push(replica);
  return replica;
}

export async function stopReplicas(): Promise<void> {
  for (const replica of replicas.splice(0)) await replica.stop().catch(() => {});
}

export function sharedChunks(): string {
  return join(tempDir('warmsync-chunks-'), 'chunks');
}

/** POSTs one push of files to a replica and returns its answer. */
export async function pushFiles(
  url: string,
  workspace: string,
  agent: string,
  files: Array<{ path: string; text: string; vector: Record<string, number> }>,
  pushId?: string,
): Promise<PushResponse> {
  const made = files.map((f) => fileChange(f.path, f.text, f.vector));
  const body = encodeEnvelope(
    { agent, batch: 'edits', changes: made.map((m) => m.change), pushId },
    made.map((m) => m.frame),
  );
  const reply = await fetch(`${url}/v1/workspaces/${workspace}/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
  if (!reply.ok) throw new Error(`push to ${url} failed: ${reply.status} ${await reply.text()}`);
  return (await reply.json()) as PushResponse;
}

const NAMES = ['a.txt', 'b.ts', 'c.md', 'd/e.txt', 'd/f.js', 'g/h/i.txt', 'g/j.txt', 'k.bin'];

/**
 * Seeded random edits (writes, appends, deletions) on several trees. Records, per path, the last
 * content each tree left, so `lostEdits` can tell whether a path only one tree touched kept it.
 */
export class Workload {
  readonly written = new Set<string>();
  private readonly touched = new Map<string, Map<number, string | null>>();
  private opId = 0;

  constructor(
    private readonly dirs: readonly string[],
    private readonly random: Random,
    private readonly seed: number,
    /** Names unique to each tree are added, so every run has paths only one tree touches. */
    private readonly ownPaths = 3,
  ) {}

  step(who: number): void {
    const dir = this.dirs[who]!;
    const own = this.random.int(0, 3) === 0;
    const path = own
      ? `own-${who}/f${this.random.int(0, this.ownPaths - 1)}.txt`
      : NAMES[this.random.int(0, NAMES.length - 1)]!;
    const absolute = join(dir, path);
    const op = this.random.int(0, 9);
    try {
      if (op <= 5) {
        const text = `op ${this.opId++} by ${who} seed ${this.seed}\n`.repeat(this.random.int(1, 40));
        mkdirSync(join(absolute, '..'), { recursive: true });
        writeFileSync(absolute, text);
        this.written.add(text);
        this.touch(path, who, text);
      } else if (op === 6 && existsSync(absolute) && !own) {
        rmSync(absolute, { recursive: true });
        this.touch(path, who, null);
      } else if (existsSync(absolute) && lstatSync(absolute).isFile()) {
        const next = `${readFileSync(absolute, 'utf8')}append ${this.opId++} by ${who}\n`;
        writeFileSync(absolute, next);
        this.written.add(next);
        this.touch(path, who, next);
      }
    } catch {
      // A folder where a file is expected (or the reverse) after a sync: a no-op for this step.
    }
  }

  async run(who: number, steps: number): Promise<void> {
    for (let i = 0; i < steps; i++) {
      this.step(who);
      if (this.random.int(0, 2) === 0) await new Promise((r) => setTimeout(r, this.random.int(1, 15)));
    }
  }

  /** Paths only one tree touched whose final content in `dir` is not that tree's last version. */
  lostEdits(dir: string): string[] {
    const lost: string[] = [];
    for (const [path, byTree] of this.touched) {
      if (byTree.size !== 1) continue;
      const last = [...byTree.values()][0];
      if (last === null || last === undefined) continue;
      const absolute = join(dir, path);
      const now =
        existsSync(absolute) && lstatSync(absolute).isFile() ? readFileSync(absolute, 'utf8') : null;
      if (now !== last) lost.push(path);
    }
    return lost;
  }

  private touch(path: string, who: number, content: string | null): void {
    const map = this.touched.get(path) ?? new Map<number, string | null>();
    map.set(who, content);
    this.touched.set(path, map);
  }
}
