/**
 * A seeded protocol fuzzer against a real hub: over 100,000 damaged frames and messages on every
 * route and every agent message type, mostly valid messages with small damage (so they reach the
 * hub's deep code: frame opening, change checks, commit planning, conflict copies, fan-out) and
 * some noise. One run (in beforeAll) feeds every property below.
 *
 * `TEST_SEED=<n>` replays a run's inputs (the seed is printed; the lanes' interleaving may differ).
 * `FUZZ_LANES=push,live` runs only those lanes, with the same inputs; `FUZZ_PROGRESS=1` prints the
 * counts and each failure as it happens; `FUZZ_DATA=DIR` keeps the hub's data folder there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestEntry } from '../../src/core/entry.ts';
import { type ChunkFrame, encodeEnvelope, makeFrame } from '../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';
import { changesResponseSchema, type Status, statusSchema } from '../../src/core/protocol.ts';
import type { RunningServer } from '../../src/server/start.ts';
import {
  changesLane,
  chunksLane,
  pushLane,
  routesLane,
  snapshotsLane,
  unreadablePage,
} from '../helpers/fuzz/http-lanes.ts';
import { snapshotManifest } from '../helpers/fuzz/json-cases.ts';
import { caller, type FuzzContext, timings } from '../helpers/fuzz/lane.ts';
import { Ledger } from '../helpers/fuzz/ledger.ts';
import { checkLive, liveLane, openSockets } from '../helpers/fuzz/live-lane.ts';
import type { FuzzChunk } from '../helpers/fuzz/push-cases.ts';
import { cleanup, describeTree, onCleanup, startAgent, startHub, waitUntil } from '../helpers/harness.ts';
import { Random, testSeed } from '../helpers/random.ts';

afterAll(cleanup);

const SEED = testSeed();
const TOKEN = 'fuzz-admin-token';
const FUZZ = 'fuzz';
const WITNESS = 'witness';
const AGENTS = ['0a1b2c3d', 'feedface00', 'abcdef0123456789', '12345678'];
const WITNESS_FILES = {
  'hello.txt': 'hello\n',
  'src/app.ts': 'export const app = 1;\n',
  'docs/a b.md': '# a\n',
};

/** What each lane sends: 60,000 push frames, 30,000 live messages, 12,500 other requests. */
const PUSH_FRAMES = 60_000;
const LIVE_SOCKETS = 5;
const LIVE_MESSAGES = 30_000;
const REQUESTS = { changes: 3_000, chunks: 5_000, snapshots: 2_000, status: 500, routes: 1_000 };

/** A push of whole small files, each one chunk: what a well-behaved agent sends. */
function goodPush(agent: string, files: Record<string, string>, counter = 1) {
  const frames: ChunkFrame[] = [];
  const changes = Object.entries(files).map(([path, text]) => {
    const bytes = new TextEncoder().encode(text);
    const hash = sha256Hex(bytes);
    frames.push(makeFrame(hash, bytes));
    const content = { kind: 'file', hash: fileHashFromChunks([hash]), size: bytes.length, exec: false };
    return { path, vector: { [agent]: counter }, content: { ...content, chunks: [[hash, bytes.length]] } };
  });
  return encodeEnvelope({ agent, changes }, frames);
}

/** Everything the properties look at, from before and after the fuzz. */
interface Run {
  hub: RunningServer;
  ledger: Ledger;
  call: ReturnType<typeof caller>;
  hubErrors: string[];
  witnessBefore: string;
  witnessAfter: string;
  fuzzBefore: Map<string, string>;
  fuzzAfter: ManifestEntry[];
  /** Paths accepted pushes said they changed, by workspace. */
  touched: Map<string, Set<string>>;
  rss: { before: number; after: number };
}

let run: Run;

/** Every entry of a workspace, page by page; a page agents cannot read is a failure. */
async function manifest(call: Run['call'], ledger: Ledger, workspace: string): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  for (let since = 0; ; ) {
    const text = await (await call(`/v1/workspaces/${workspace}/changes?since=${since}`)).text();
    const page = changesResponseSchema.safeParse(JSON.parse(text));
    if (!page.success) {
      const why = unreadablePage(page.error, JSON.parse(text));
      ledger.fail('readable', { endpoint: 'catch-up', index: since, how: workspace }, why);
      return entries;
    }
    entries.push(...page.data.entries);
    if (!page.data.more) return entries;
    since = page.data.entries[page.data.entries.length - 1]!.seq;
  }
}

/** The witness as agents and operators see it: its catch-up page, status line and snapshot. */
async function witnessState(call: Run['call'], lockHash: string): Promise<string> {
  const changes = await (await call(`/v1/workspaces/${WITNESS}/changes?since=0`)).text();
  const status: Status = statusSchema.parse(await (await call('/v1/status')).json());
  const snapshot = await (await call(`/v1/workspaces/${WITNESS}/snapshots/${lockHash}`)).text();
  return JSON.stringify({ changes, summary: status.workspaces.find((w) => w.name === WITNESS), snapshot });
}

beforeAll(async () => {
  const started = performance.now();
  const hubErrors: string[] = [];
  const hub = startHub({
    ...(process.env.FUZZ_DATA ? { dataDir: process.env.FUZZ_DATA } : {}),
    token: TOKEN,
    log: (line) => {
      if (line.startsWith('error')) hubErrors.push(line);
    },
  });
  console.log(`protocol fuzz: TEST_SEED=${SEED} replays this run`);
  const ledger = new Ledger();
  const call = caller({ url: hub.url, token: TOKEN });
  const ok = async (response: Promise<Response>) => expect((await response).status).toBe(200);

  // Before: chunks to make deltas against, a witness workspace with known content, the fuzz workspace.
  const setup = new Random(SEED);
  const texts = Array.from({ length: 38 }, (_, i) =>
    i % 3 === 0
      ? setup.bytes(setup.int(1, 4000))
      : new TextEncoder().encode(`export const v${i} = ${i};\n`.repeat(setup.int(1, 200))),
  );
  const known: FuzzChunk[] = [new Uint8Array(0), new Uint8Array([7]), ...texts].map((bytes) => ({
    hash: sha256Hex(bytes),
    bytes,
  }));
  const frames = known.map((c) => makeFrame(c.hash, c.bytes));
  const push = (workspace: string, body: Uint8Array<ArrayBuffer>) =>
    call(`/v1/workspaces/${workspace}/push`, { method: 'POST', body });
  await ok(push(FUZZ, encodeEnvelope({ agent: AGENTS[0], changes: [] }, frames)));
  await ok(push(WITNESS, goodPush('cafe0001', WITNESS_FILES)));
  await ok(push(FUZZ, goodPush(AGENTS[1]!, { 'src/m1.ts': 'one', d1: 'file d1' })));
  const witnessLock = sha256Hex(new TextEncoder().encode('witness lockfile'));
  const snapshot = JSON.stringify(snapshotManifest(setup, known, witnessLock));
  await ok(call(`/v1/workspaces/${WITNESS}/snapshots/${witnessLock}`, { method: 'PUT', body: snapshot }));
  const witnessBefore = await witnessState(call, witnessLock);
  const fuzzBefore = new Map((await manifest(call, ledger, FUZZ)).map((e) => [e.path, JSON.stringify(e)]));
  Bun.gc(true);
  const rssBefore = process.memoryUsage().rss;

  const touched = new Map<string, Set<string>>();
  const ctx: FuzzContext = {
    seed: SEED,
    url: hub.url,
    token: TOKEN,
    ledger,
    known,
    agents: AGENTS,
    fuzz: FUZZ,
    witness: WITNESS,
    witnessHead: (JSON.parse(JSON.parse(witnessBefore).changes) as { head: number }).head,
    witnessLock,
    touch: (workspace, path) => {
      const set = touched.get(workspace) ?? new Set<string>();
      touched.set(workspace, set.add(path));
    },
  };
  const sockets = await openSockets(ctx, LIVE_SOCKETS);
  const progress = process.env.FUZZ_PROGRESS
    ? setInterval(
        () => console.log(`${Math.round((performance.now() - started) / 1000)} s\n${ledger.report()}`),
        5000,
      )
    : undefined;
  await Promise.all([
    pushLane(ctx, PUSH_FRAMES),
    changesLane(ctx, REQUESTS.changes),
    chunksLane(ctx, REQUESTS.chunks),
    snapshotsLane(ctx, REQUESTS.snapshots),
    routesLane(ctx, REQUESTS.status, REQUESTS.routes),
    liveLane(ctx, sockets, LIVE_MESSAGES),
  ]);
  clearInterval(progress);
  const fuzzedFor = performance.now() - started;
  await checkLive(ctx, sockets);

  const fuzzAfter = await manifest(call, ledger, FUZZ);
  for (const workspace of touched.keys()) if (workspace !== FUZZ) await manifest(call, ledger, workspace);
  Bun.gc(true);
  const rss = { before: rssBefore, after: process.memoryUsage().rss };
  run = {
    hub,
    ledger,
    call,
    hubErrors,
    witnessBefore,
    witnessAfter: await witnessState(call, witnessLock),
    fuzzBefore,
    fuzzAfter,
    touched,
    rss,
  };
  const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  const slowest = timings.slowest.sort((x, y) => y.ms - x.ms).slice(0, 6);
  console.log(
    [
      `protocol fuzz: TEST_SEED=${SEED}, ${Math.round(fuzzedFor / 1000)} s of fuzz`,
      ledger.report(),
      `  fuzz workspace: ${fuzzBefore.size} paths before, ${fuzzAfter.length} after; accepted pushes named ${touched.get(FUZZ)?.size ?? 0}`,
      `  RSS ${mib(rss.before)} before, ${mib(rss.after)} after; lanes took ${timings.lanes.join(', ')}`,
      `  slowest: ${slowest.map((c) => `${c.lane} #${c.index} ${c.ms} ms`).join(', ')}`,
    ].join('\n'),
  );
}, 240_000);

/** A property's failures, with the seed that replays them. */
const failures = (property: keyof Ledger['failures']) => {
  const list = run.ledger.failures[property];
  if (list.length > 0)
    console.log(`${property} failures (TEST_SEED=${SEED}):\n${list.slice(0, 20).join('\n')}`);
  return list;
};

describe('protocol fuzz', () => {
  it('sends over 100,000 frames and messages, over every endpoint', () => {
    if (process.env.FUZZ_LANES) return;
    expect(run.ledger.totalFrames()).toBeGreaterThanOrEqual(100_000);
    expect(run.ledger.endpoints()).toEqual([
      'GET /changes',
      'GET /snapshots',
      'GET /status',
      'POST /chunks/fetch',
      'POST /chunks/missing',
      'POST /push',
      'PUT /snapshots',
      'live (binary)',
      'live (text)',
      'other routes',
    ]);
  });

  it('never answers 5xx, and refuses every request with {error, message} and a known code', () => {
    expect(failures('reply')).toEqual([]);
    expect(run.hubErrors).toEqual([]);
  });

  it('answers and broadcasts only what agents can read', () => {
    expect(failures('readable')).toEqual([]);
  });

  it('answers every refused live message, relays every wanted, and records cursors and problems', () => {
    expect(failures('live')).toEqual([]);
  });

  it('leaves the witness workspace, which it only read, byte-identical', () => {
    expect(run.witnessAfter).toBe(run.witnessBefore);
  });

  it('changes the fuzzed workspace only where accepted pushes said it did', () => {
    const named = run.touched.get(FUZZ) ?? new Set<string>();
    const changed = run.fuzzAfter
      .filter((e) => run.fuzzBefore.get(e.path) !== JSON.stringify(e) && !named.has(e.path))
      .map((e) => e.path.slice(0, 100));
    expect(changed).toEqual([]);
    const after = new Set(run.fuzzAfter.map((e) => e.path));
    expect([...run.fuzzBefore.keys()].filter((path) => !after.has(path))).toEqual([]);
  });

  it('keeps its memory bounded', () => {
    expect(run.rss.after - run.rss.before).toBeLessThan(1024 * 2 ** 20);
  });

  it('still takes a normal push and serves it in a catch-up', async () => {
    const { call } = run;
    const head = changesResponseSchema.parse(
      await (await call(`/v1/workspaces/${FUZZ}/changes?since=0`)).json(),
    );
    const body = goodPush(AGENTS[2]!, { 'after-fuzz.txt': 'still here' }, 1e9);
    const reply = await call(`/v1/workspaces/${FUZZ}/push`, { method: 'POST', body });
    expect(reply.status).toBe(200);
    const page = changesResponseSchema.parse(
      await (await call(`/v1/workspaces/${FUZZ}/changes?since=${head.head}`)).json(),
    );
    expect(page.entries.map((e) => e.path)).toEqual(['after-fuzz.txt']);
  });

  it('gives a fresh agent of the witness exactly its files', async () => {
    const agent = await startAgent(run.hub, { workspace: WITNESS, token: TOKEN });
    const expected = Object.fromEntries([
      ...Object.entries(WITNESS_FILES).map(([path, text]) => {
        const hash = sha256Hex(new TextEncoder().encode(text)).slice(0, 16);
        return [path, `file:${hash}:-`];
      }),
      ['src', 'dir'],
      ['docs', 'dir'],
    ]);
    await waitUntil(() => describeTree(agent.tree.root).size >= 5, 'the witness files');
    expect(Object.fromEntries(describeTree(agent.tree.root))).toEqual(expected);
  });

  it('lets a real agent sync the fuzzed workspace afterwards, both ways', async () => {
    const started = performance.now();
    const agent = await startAgent(run.hub, { workspace: FUZZ, token: TOKEN });
    onCleanup(async () => {
      // The fuzz may leave a path 128 folders deep; rm(1) removes it in a fraction of the time
      // rmSync takes (which opens every level again from the top).
      await agent.stop();
      Bun.spawnSync(['rm', '-rf', agent.tree.root]);
    });
    expect(readFileSync(join(agent.tree.root, 'after-fuzz.txt'), 'utf8')).toBe('still here');
    const synced = performance.now();
    writeFileSync(join(agent.tree.root, 'from-agent.txt'), 'a real edit after the fuzz');
    await waitUntil(
      async () => {
        const entries = await manifest(run.call, run.ledger, FUZZ);
        return entries.some((e) => e.path === 'from-agent.txt' && e.agent === agent.agentId);
      },
      "the agent's edit to reach the hub",
      // The fuzzed workspace holds very deep paths, whose scans take tens of seconds under load.
      90_000,
    );
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `protocol fuzz: an agent synced the fuzzed workspace in ${seconds(synced - started)}, its edit reached the hub in ${seconds(performance.now() - synced)}`,
    );
  }, 180_000);
});
