/**
 * Test harness: real hubs on loopback ports, real agents on real temporary folders, and tree
 * comparison. Everything started here is stopped by `cleanup()` (call it in afterEach).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AgentOptions } from '../../src/agent/agent.ts';
import { TEMP_FILE_PREFIX } from '../../src/core/paths.ts';
import {
  type EmbeddedServerOptions,
  type RunningServer,
  startEmbeddedServer,
} from '../../src/server/start.ts';

const stops: Array<() => Promise<void> | void> = [];

/** Runs `stop` in `cleanup()`, before whatever was started earlier is stopped. */
export function onCleanup(stop: () => Promise<void> | void): void {
  stops.push(stop);
}

export function tempDir(prefix = 'warmsync-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function startHub(options: Partial<EmbeddedServerOptions> = {}): RunningServer {
  const hub = startEmbeddedServer({ dataDir: join(tempDir('warmsync-hub-'), 'data'), port: 0, ...options });
  stops.push(() => hub.stop().catch(() => {}));
  return hub;
}

/** Starts a continuous agent on `dir` (created empty when not given). */
export async function startAgent(
  hub: { url: string },
  options: Partial<AgentOptions> & { dir?: string; workspace?: string } = {},
): Promise<Agent> {
  const agent = createAgent(hub, options);
  await agent.start();
  return agent;
}

export function createAgent(
  hub: { url: string },
  options: Partial<AgentOptions> & { dir?: string } = {},
): Agent {
  const agent = new Agent({
    dir: options.dir ?? tempDir('warmsync-tree-'),
    server: hub.url,
    workspace: options.workspace ?? 'test',
    stateDir: options.stateDir ?? tempDir('warmsync-state-'),
    rescanMinMs: 500,
    // WARMSYNC_TEST_LOG=1 prints every agent's log while a test runs.
    log: process.env.WARMSYNC_TEST_LOG
      ? (line) => console.log(`[${Date.now() % 100000}] ${line}`)
      : undefined,
    ...options,
  });
  stops.push(() => agent.stop().catch(() => {}));
  return agent;
}

export async function cleanup(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop();
}

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const started = performance.now();
    if (await check()) return;
    // Expensive checks (walking big trees) must not starve the agents they are waiting for.
    await new Promise((r) => setTimeout(r, Math.max(10, 3 * (performance.now() - started))));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * A description of every path under `root` (skipping `skip` names at any depth): folders,
 * files with content hash and executable bit, links with their target text.
 */
export function describeTree(root: string, skip: readonly string[] = ['.git']): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (prefix: string) => {
    for (const name of readdirSync(join(root, prefix)).sort()) {
      if (skip.includes(name) || name.startsWith(TEMP_FILE_PREFIX)) continue;
      const path = prefix ? `${prefix}/${name}` : name;
      const absolute = join(root, path);
      const stats = lstatSync(absolute);
      if (stats.isSymbolicLink()) out.set(path, `link:${readlinkSync(absolute)}`);
      else if (stats.isDirectory()) {
        out.set(path, 'dir');
        walk(path);
      } else {
        const hash = createHash('sha256').update(readFileSync(absolute)).digest('hex').slice(0, 16);
        out.set(path, `file:${hash}:${stats.mode & 0o111 ? 'x' : '-'}`);
      }
    }
  };
  walk('');
  return out;
}

export function treesEqual(a: string, b: string, skip?: readonly string[]): boolean {
  let x: Map<string, string>;
  let y: Map<string, string>;
  try {
    x = describeTree(a, skip);
    y = describeTree(b, skip);
  } catch {
    // A file vanished mid-walk: the trees are still moving.
    return false;
  }
  if (x.size !== y.size) return false;
  for (const [path, value] of x) if (y.get(path) !== value) return false;
  return true;
}

/** A readable difference between two trees, for failure messages. */
export function treeDiff(a: string, b: string, skip?: readonly string[]): string {
  const x = describeTree(a, skip);
  const y = describeTree(b, skip);
  const lines: string[] = [];
  for (const [path, value] of x)
    if (y.get(path) !== value) lines.push(`${path}: ${value} vs ${y.get(path) ?? 'absent'}`);
  for (const [path, value] of y) if (!x.has(path)) lines.push(`${path}: absent vs ${value}`);
  return lines.slice(0, 20).join('\n');
}

export async function waitConverged(
  dirs: readonly string[],
  what = 'trees to converge',
  timeoutMs = 20_000,
): Promise<void> {
  try {
    await waitUntil(() => dirs.every((d) => treesEqual(dirs[0]!, d)), what, timeoutMs);
  } catch (error) {
    const diffs = dirs
      .slice(1)
      .map((d) => treeDiff(dirs[0]!, d))
      .join('\n---\n');
    throw new Error(`${(error as Error).message}\n${diffs}`);
  }
}
