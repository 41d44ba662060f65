/**
 * The names of the agent's own temporary files, and when a leftover one may be removed.
 *
 * A remote version is written to `.warmsync-tmp-<pid>-<salt>-<counter>` beside its target and
 * renamed into place: the pid (base 36) and a random salt name the process that writes it, the
 * counter (base 36) the write. An agent killed mid-write leaves such a file behind; nothing else
 * ever renames or removes it, so the agents clear them. Removing one is never a loss: it holds a
 * copy of a version the hub keeps, and a writer that finds its temporary file gone retries.
 */
import { TEMP_FILE_PREFIX } from './paths.ts';

/** The writer of a temporary file, read back from its name. */
export interface TempWriter {
  pid: number;
  salt: string;
}

/** A writer's temporary files that no write has touched for this long belong to a dead write. */
export const ABANDONED_AFTER_MS = 60_000;
/**
 * Past this age a temporary file is abandoned even though a process with its pid runs: writes
 * keep their file fresh, so that process is a stranger that reuses the pid of a dead agent.
 */
export const PID_REUSED_AFTER_MS = 24 * 60 * 60 * 1000;

const SALT_HEX = 6;
/**
 * What the file-system probe adds to a temporary name: ASCII letters and an NFC 'é', whose other
 * spellings it looks up (see agent/fs-probe.ts). An agent killed mid-probe leaves it like any
 * other temporary file, and it is cleared the same way.
 */
export const PROBE_SUFFIX = '.probe-\u00e9';
const TEMP_NAME = new RegExp(
  `^${TEMP_FILE_PREFIX.replaceAll('.', '\\.')}([0-9a-z]{1,8})-([0-9a-f]{${SALT_HEX}})-([0-9a-z]{1,11})(?:${PROBE_SUFFIX.replaceAll('.', '\\.')})?$`,
);

/** The part of every temporary name a writer makes: prefix, pid and salt. */
export function tempNameStem(pid: number, salt: string): string {
  return `${TEMP_FILE_PREFIX}${pid.toString(36)}-${salt}-`;
}

/** A temporary name: the stem and the write's counter. */
export function tempName(stem: string, counter: number): string {
  return `${stem}${counter.toString(36)}`;
}

/** The writer of `name` when it is exactly one of the agent's temporary names, else undefined. */
export function parseTempName(name: string): TempWriter | undefined {
  const match = TEMP_NAME.exec(name);
  if (!match) return undefined;
  const pid = Number.parseInt(match[1]!, 36);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { pid, salt: match[2]! };
}

export interface TempFacts {
  /** A process with the writer's pid runs, and (for this agent's own pid) its salt is this agent's. */
  writerAlive: boolean;
  /** Time since the file was last written. */
  ageMs: number;
  /** The agent is starting: no write of this agent is under way. */
  atStart: boolean;
}

/**
 * Whether a leftover temporary file may be removed. Its writer is dead: at start that is enough;
 * later the file must also be a minute old, for a writer in another pid namespace (a container
 * sharing the folder) looks dead from here while its write is in flight. A live pid keeps its
 * files until they are a day old.
 */
export function isAbandonedTemp(facts: TempFacts): boolean {
  if (facts.writerAlive) return facts.ageMs >= PID_REUSED_AFTER_MS;
  return facts.atStart || facts.ageMs >= ABANDONED_AFTER_MS;
}
