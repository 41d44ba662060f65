/**
 * The files a push changed: `before..sha` from the push event when the runner gives one, else the
 * pushed commit alone. The only place the Action asks git about the push itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { simpleGit } from 'simple-git';
import { z } from 'zod';

/** What was compared, in words for the log, and the changed paths (repository-relative, `/`). */
export interface PushChanges {
  range: string;
  files: string[];
}

const pushEvent = z.object({ before: z.string().regex(/^[0-9a-f]{40}$/) }).loose();

/**
 * The push's `before` commit from the event payload at `eventPath`, or undefined when there is no
 * payload, it is not a push, or `before` is all zeros (a new branch has no previous tip).
 */
export function beforeOfPush(eventPath: string | undefined): string | undefined {
  if (!eventPath || !existsSync(eventPath)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(eventPath, 'utf8'));
  } catch {
    return undefined;
  }
  const parsed = pushEvent.safeParse(raw);
  if (!parsed.success || /^0+$/.test(parsed.data.before)) return undefined;
  return parsed.data.before;
}

/**
 * Paths changed by the push that ended at `sha` (default HEAD). Uses `before..sha` when `before`
 * is a commit the checkout has (a shallow or force-pushed history may lack it); otherwise the
 * changes of `sha` itself against its first parent (or the empty tree for a root commit).
 *
 * @example
 * await changedFilesOfPush('/repo', process.env.GITHUB_SHA, beforeOfPush(process.env.GITHUB_EVENT_PATH));
 */
export async function changedFilesOfPush(
  repoDir: string,
  sha: string | undefined,
  before: string | undefined,
): Promise<PushChanges> {
  const git = simpleGit({ baseDir: repoDir, maxConcurrentProcesses: 1 });
  const head = sha ?? (await git.revparse(['HEAD'])).trim();
  const lines = (text: string) =>
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  if (before !== undefined) {
    const known = await git.raw(['cat-file', '-t', before]).then(
      (type) => type.trim() === 'commit',
      () => false,
    );
    if (known) {
      const diff = await git.raw([
        '-c',
        'core.quotePath=false',
        'diff',
        '--name-only',
        '--no-renames',
        before,
        head,
      ]);
      return { range: `${before.slice(0, 12)}..${head.slice(0, 12)}`, files: lines(diff) };
    }
  }
  const show = await git.raw([
    '-c',
    'core.quotePath=false',
    'diff-tree',
    '--no-commit-id',
    '--name-only',
    '--no-renames',
    '-r',
    '--root',
    head,
  ]);
  return { range: head.slice(0, 12), files: lines(show) };
}
