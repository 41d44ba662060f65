/**
 * This process's temporary files: their names (see core/temp-name.ts) and the removal of the
 * ones that agents killed mid-write left behind, found by the tree scans.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  isAbandonedTemp,
  PROBE_SUFFIX,
  parseTempName,
  type TempWriter,
  tempName,
  tempNameStem,
} from '../core/temp-name.ts';

const salt = randomBytes(3).toString('hex');
const stem = tempNameStem(process.pid, salt);
let counter = 0;

/** A fresh temporary name: unique within this process by a counter, across processes by pid and salt. */
export function nextTempName(): string {
  counter += 1;
  return tempName(stem, counter);
}

/** A fresh name for the file-system probe: a temporary name, so a leftover one is cleared too. */
export function nextProbeName(): string {
  return `${nextTempName()}${PROBE_SUFFIX}`;
}

/** Whether the writer of a temporary file may still be at work. */
function writerAlive(writer: TempWriter): boolean {
  // Our own pid with another salt is an earlier process that had the same pid (a restarted container).
  if (writer.pid === process.pid) return writer.salt === salt;
  try {
    process.kill(writer.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the abandoned temporary files among `paths` (relative to `root`, found by a scan). The
 * first sweep of a tree is the agent's start. Only names that are exactly the agent's temporary
 * names, and only files or links, are ever removed.
 */
export class TempSweeper {
  private started = false;

  constructor(
    private readonly root: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  sweep(paths: readonly string[], now = Date.now()): void {
    const atStart = !this.started;
    this.started = true;
    for (const path of paths) {
      const writer = parseTempName(path.slice(path.lastIndexOf('/') + 1));
      if (!writer) continue;
      const absolute = join(this.root, path);
      try {
        const stats = lstatSync(absolute);
        if (!stats.isFile() && !stats.isSymbolicLink()) continue;
        if (!isAbandonedTemp({ writerAlive: writerAlive(writer), ageMs: now - stats.mtimeMs, atStart }))
          continue;
        unlinkSync(absolute);
        this.log(`removed ${path}, left by an agent that stopped mid-write`);
      } catch {
        // Renamed into place or removed meanwhile: nothing to do.
      }
    }
  }
}
