/**
 * What the pip and Go warmers share: per-run folders (made, removed even when read-only, and
 * collected when a killed run left them), a bounded worker pool, and publishing one verified
 * file into a shared cache folder atomically without ever replacing a different file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, link, mkdir, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Makes a fresh run folder `PREFIX<pid>-<random>` under `workRoot`. */
export async function makeRunFolder(workRoot: string, prefix: string): Promise<string> {
  const run = join(workRoot, `${prefix}${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(run, { recursive: true });
  return run;
}

/**
 * Removes a run folder. Go marks extracted module folders read-only, and a folder without write
 * permission cannot have its entries unlinked (for anyone but root), so write permission is
 * restored first. Never rejects.
 */
export async function removeRunFolder(folder: string): Promise<void> {
  const restore = async (path: string): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) return;
    await chmod(path, 0o700).catch(() => undefined);
    for (const entry of await readdir(path).catch(() => [])) await restore(join(path, entry));
  };
  await restore(folder);
  await rm(folder, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Removes the `prefix` run folders under `workRoot` older than `ttlMs`: leftovers of runs that
 * crashed or were killed (a live run is younger than the TTL, which exceeds any timeout).
 */
export async function collectExpiredRunFolders(
  workRoot: string,
  prefix: string,
  ttlMs: number,
  now = Date.now(),
): Promise<number> {
  let removed = 0;
  for (const entry of await readdir(workRoot).catch(() => [])) {
    if (!entry.startsWith(prefix)) continue;
    const folder = join(workRoot, entry);
    const age = await stat(folder).then(
      (s) => now - s.mtimeMs,
      () => -1,
    );
    if (age > ttlMs) {
      await removeRunFolder(folder);
      removed++;
    }
  }
  return removed;
}

/** Runs `work` on every item, at most `limit` at once; results in the items' order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      results[index] = await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** The sha256 of a file, in hex. */
export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** How {@link publishFile} ended: written now, or already there with the same bytes. */
export type PublishResult = 'published' | 'present';

/**
 * Publishes `source` as `target` so that readers of the shared folder see either nothing or the
 * whole file: it is copied to a dot-named temporary beside `target` (no package tool lists dot
 * files), then hard-linked to its final name, which fails instead of replacing a file already
 * there, even one another process published a moment before. An existing `target` with the
 * same bytes counts as present; one with other bytes is never touched and the publish rejects.
 */
export async function publishFile(source: string, target: string): Promise<PublishResult> {
  const folder = dirname(target);
  await mkdir(folder, { recursive: true });
  const temporary = join(folder, `.warmsync-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await copyFile(source, temporary);
    try {
      await link(temporary, target);
      return 'published';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if ((await sha256File(target)) === (await sha256File(source))) return 'present';
    throw new Error(`${target} already holds a different file; it is left as it is`);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** What happened to one package (the same shape as the npm warmer's outcome). */
export interface WarmOutcome {
  spec: string;
  ok: boolean;
  /** Files published into the shared cache by this run (0 when all were already there). */
  published: number;
  /** One sentence when `ok` is false. */
  reason?: string;
}

/**
 * The frame every warmer's entry point shares: the work root made, its expired run folders (of
 * `prefix`) collected, then `warmOne` for each spec, at most `concurrency` at a time. Resolves with
 * one outcome per spec, in order; never rejects (each `warmOne` turns its failures into outcomes).
 */
export async function warmEach<S>(
  specs: readonly S[],
  options: { workRoot: string; runTtlMs?: number; concurrency?: number },
  prefix: string,
  warmOne: (spec: S) => Promise<WarmOutcome>,
): Promise<WarmOutcome[]> {
  await mkdir(options.workRoot, { recursive: true }).catch(() => undefined);
  await collectExpiredRunFolders(options.workRoot, prefix, options.runTtlMs ?? 15 * 60_000).catch(() => 0);
  return mapLimited(specs, options.concurrency ?? 4, warmOne);
}
