/**
 * The verdicts of `warmsync doctor`: each fact the command gathers (a watch limit, a clock
 * difference, a certificate's end of validity...) judged ok, warn or fail, with one sentence and,
 * when something is wrong, what to do. Pure, so each threshold is a row in a table test.
 */
import type { Folding } from './folding.ts';
import { describeFolding } from './folding.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or a fail. */
  hint?: string;
}

/** The watcher takes one inotify watch per folder; past this share of the limit, warn. */
const WATCH_SHARE_WARN = 0.8;

/**
 * Folders to watch against the kernel's per-user inotify limit (`undefined`: not Linux, or not
 * readable). A polling agent (network mounts, `--poll`) needs no watches.
 */
export function judgeWatchLimit(folders: number, limit: number | undefined, polling: boolean): Check {
  const name = 'watch limit';
  if (polling)
    return { name, status: 'ok', detail: `${folders} folder(s); the folder is polled, no watches needed` };
  if (limit === undefined)
    return { name, status: 'ok', detail: `${folders} folder(s); no inotify limit to check here` };
  const detail = `${folders} folder(s) to watch, fs.inotify.max_user_watches is ${limit}`;
  const hint = `raise it: sudo sysctl fs.inotify.max_user_watches=${Math.max(524_288, folders * 2)}`;
  if (folders >= limit)
    return { name, status: 'fail', detail: `${detail}: changes in some folders would go unseen`, hint };
  if (folders >= limit * WATCH_SHARE_WARN)
    return { name, status: 'warn', detail: `${detail}: other programs' watches share the limit`, hint };
  return { name, status: 'ok', detail };
}

/**
 * The difference between this machine's clock and the hub's, from its `Date` header: whole
 * seconds, which servers also cache for up to a second, so within two seconds plus the round
 * trip is agreement. Sync itself never reads a clock (version
 * vectors order the versions), but certificates and `restore --before TIME` do.
 */
const HEADER_SLACK_MS = 2000;

export function judgeClockSkew(skewMs: number, roundTripMs: number): Check {
  const name = 'clock';
  const seconds = Math.abs(skewMs) / 1000;
  const direction = skewMs > 0 ? 'ahead of' : 'behind';
  if (Math.abs(skewMs) <= HEADER_SLACK_MS + roundTripMs)
    return { name, status: 'ok', detail: 'agrees with the hub (to the second its Date header tells)' };
  const detail = `${seconds.toFixed(1)} s ${direction} the hub's`;
  const hint =
    'sync does not depend on clocks, but certificate checks and restore --before TIME do: run NTP on both machines';
  return { name, status: seconds > 60 ? 'warn' : 'ok', detail, ...(seconds > 60 ? { hint } : {}) };
}

/** Days left on the hub's certificate. */
export function judgeCertificate(validTo: Date, now: Date): Check {
  const name = 'tls';
  const days = Math.floor((validTo.getTime() - now.getTime()) / 86_400_000);
  const when = validTo.toISOString().slice(0, 10);
  if (days < 0)
    return {
      name,
      status: 'fail',
      detail: `the hub's certificate expired on ${when}`,
      hint: 'renew it and restart serve',
    };
  if (days < 14)
    return {
      name,
      status: 'warn',
      detail: `the hub's certificate expires in ${days} day(s), on ${when}`,
      hint: 'renew it and restart serve',
    };
  return { name, status: 'ok', detail: `certificate verified, valid until ${when}` };
}

/** How the folder's file system compares names. */
export function judgeFolding(folding: Folding): Check {
  const described = describeFolding(folding);
  return described === undefined
    ? { name: 'names', status: 'ok', detail: 'the file system keeps names exactly (case-sensitive)' }
    : {
        name: 'names',
        status: 'ok',
        detail: `${described}: names that differ only so are kept apart on the hub and shown as collisions here`,
      };
}

/** The exit code of a doctor run: 1 when any check failed. */
export function doctorExitCode(checks: readonly Check[]): number {
  return checks.some((check) => check.status === 'fail') ? 1 : 0;
}

/** The report on a terminal: one line per check, its hint below. */
export function renderChecks(checks: readonly Check[]): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${mark[check.status]}  ${check.name.padEnd(12)} ${check.detail}`);
    if (check.hint) lines.push(`      ${''.padEnd(12)} -> ${check.hint}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  lines.push(failed + warned === 0 ? 'all checks passed' : `${failed} failed, ${warned} warning(s)`);
  return lines.join('\n');
}
