import { describe, expect, it } from 'bun:test';
import {
  type Check,
  doctorExitCode,
  judgeCertificate,
  judgeClockSkew,
  judgeFolding,
  judgeWatchLimit,
  renderChecks,
} from '../../src/core/doctor.ts';
import { EXACT_NAMES } from '../../src/core/folding.ts';

describe('judgeWatchLimit', () => {
  const table: [folders: number, limit: number | undefined, polling: boolean, status: Check['status']][] = [
    [1_000, 8_192, false, 'ok'],
    [6_553, 8_192, false, 'ok'],
    [6_554, 8_192, false, 'warn'],
    [8_192, 8_192, false, 'fail'],
    [50_000, 8_192, true, 'ok'],
    [50_000, undefined, false, 'ok'],
  ];
  for (const [folders, limit, polling, status] of table)
    it(`${folders} folders, limit ${limit}, ${polling ? 'polling' : 'watching'}: ${status}`, () => {
      const check = judgeWatchLimit(folders, limit, polling);
      expect(check.status).toBe(status);
      if (status !== 'ok') expect(check.hint).toContain('sysctl fs.inotify.max_user_watches=');
    });

  it('suggests a limit with room for twice the folders', () => {
    expect(judgeWatchLimit(400_000, 300_000, false).hint).toContain('=800000');
  });
});

describe('judgeClockSkew', () => {
  const table: [skewMs: number, roundTripMs: number, status: Check['status'], says: string][] = [
    [0, 5, 'ok', 'agrees'],
    [1_900, 0, 'ok', 'agrees'],
    [2_200, 300, 'ok', 'agrees'],
    [-2_400, 100, 'ok', '2.4 s behind'],
    [-30_000, 5, 'ok', '30.0 s behind'],
    [90_000, 5, 'warn', '90.0 s ahead of'],
  ];
  for (const [skew, rtt, status, says] of table)
    it(`${skew} ms off with a ${rtt} ms round trip: ${status}`, () => {
      const check = judgeClockSkew(skew, rtt);
      expect(check.status).toBe(status);
      expect(check.detail).toContain(says);
    });
});

describe('judgeCertificate', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const table: [validTo: string, status: Check['status'], says: string][] = [
    ['2027-06-01T00:00:00Z', 'ok', 'valid until 2027-06-01'],
    ['2026-12-10T00:00:00Z', 'warn', 'expires in 8 day(s)'],
    ['2026-11-30T00:00:00Z', 'fail', 'expired on 2026-11-30'],
  ];
  for (const [validTo, status, says] of table)
    it(`valid to ${validTo}: ${status}`, () => {
      const check = judgeCertificate(new Date(validTo), now);
      expect(check.status).toBe(status);
      expect(check.detail).toContain(says);
    });
});

describe('doctor report', () => {
  it('names a case-insensitive file system', () => {
    expect(judgeFolding(EXACT_NAMES).detail).toContain('case-sensitive');
    expect(judgeFolding({ ...EXACT_NAMES, caseInsensitive: true }).detail).not.toContain('case-sensitive');
  });

  it('exits 1 only when a check failed, and counts failures and warnings', () => {
    const ok: Check = { name: 'a', status: 'ok', detail: 'fine' };
    const warn: Check = { name: 'b', status: 'warn', detail: 'hmm', hint: 'do this' };
    const fail: Check = { name: 'c', status: 'fail', detail: 'broken' };
    expect(doctorExitCode([ok, warn])).toBe(0);
    expect(doctorExitCode([ok, fail])).toBe(1);
    expect(renderChecks([ok])).toEndWith('all checks passed');
    const text = renderChecks([ok, warn, fail]);
    expect(text).toContain('-> do this');
    expect(text).toEndWith('1 failed, 1 warning(s)');
  });
});
