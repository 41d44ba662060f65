import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts';
import { runAction } from './run-action.ts';

// The committed bundle in mode roi-report, run by node against a loopback stand-in for the GitHub
// REST API and for Prometheus.

const TOKEN = 'ghs_test_token_123';
const MARKER = '<!-- warmsync-roi:2026-10 -->';
let github: FakeGitHub;
let workspace: string;

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'warmsync-action-repo-'));
  // No after-figure: it is derived from the canned measurements (2.54 min/day, see the model tests),
  // so the net value below depends on what the Action read from Prometheus.
  await writeFile(
    join(workspace, 'roi.json'),
    JSON.stringify({
      engineers: 47,
      blendedHourlyRate: 50,
      minutesLostPerEngineerPerDayBefore: 23,
      minutesPerConflict: 5,
      workingDaysPerMonth: 22,
      infraCostBeforeMonthly: 3174,
      infraCostAfterMonthly: 1366,
    }),
  );
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

beforeEach(async () => {
  await github?.stop();
  github = startFakeGitHub('acme', 'widgets');
});

afterAll(() => github?.stop());

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    mode: 'roi-report',
    'github-token': TOKEN,
    'prometheus-url': github.prometheusUrl,
    config: 'roi.json',
    month: '2026-10',
    'issue-title': 'warmsync ROI report',
    ...extra,
  };
}

const run = (extra?: Record<string, string>) =>
  runAction({ inputs: inputs(extra), workspace, apiUrl: github.url, repository: 'acme/widgets' });

const calls = () => github.requests.map((r) => `${r.method} ${r.path}`);

describe('mode roi-report', () => {
  it('creates the tracking issue when missing and posts one comment for the month', async () => {
    const result = await run();
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(calls()).toEqual([
      'GET /repos/acme/widgets/issues',
      'POST /repos/acme/widgets/issues',
      'GET /repos/acme/widgets/issues/1/comments',
      'POST /repos/acme/widgets/issues/1/comments',
    ]);
    expect(github.requests[0]?.search).toContain('state=open');
    expect(github.requests[1]?.body).toMatchObject({ title: 'warmsync ROI report' });
    const [comment] = github.comments.get(1) ?? [];
    expect(comment?.body).toStartWith(`${MARKER}\n## warmsync ROI report, 2026-10`);
    expect(github.comments.get(1)).toHaveLength(1);
  });

  it('sends the token on every GitHub request and never to Prometheus', async () => {
    await run();
    expect(github.requests.length).toBeGreaterThan(0);
    for (const request of github.requests) expect(request.authorization).toBe(`token ${TOKEN}`);
    expect(github.prometheusAuthorizations.length).toBeGreaterThan(0);
    expect(github.prometheusAuthorizations.every((header) => header === null)).toBe(true);
  });

  it('sets the outputs: comment URL, net monthly value computed from the measurements, issue, month', async () => {
    const result = await run();
    const [comment] = github.comments.get(1) ?? [];
    expect(result.outputs).toEqual({
      'comment-url': `https://github.example/acme/widgets/issues/1#issuecomment-${comment?.id}`,
      // 47 x (23 - 2.54) x 22 / 60 x $50 = $17,629.70, + $1,808 infrastructure = $19,437.70
      'net-monthly-value': '19437.70',
      'issue-number': '1',
      month: '2026-10',
    });
  });

  it('writes the report to the job summary', async () => {
    const result = await run();
    expect(result.summary).toContain('| **Net monthly value** | **$19,437.70** |');
    expect(result.summary).toContain('minutes lost after = 0.04 + 2.5 = 2.54 min/day');
    expect(result.summary).toContain('Days without data (not plotted): 3-31.');
  });

  it('edits the same comment in place on a second run of the same month', async () => {
    const first = await run();
    const firstId = github.comments.get(1)?.[0]?.id;
    github.requests.length = 0;
    const second = await run();
    expect(second.exitCode).toBe(0);
    expect(calls()).toEqual([
      'GET /repos/acme/widgets/issues',
      'GET /repos/acme/widgets/issues/1/comments',
      `PATCH /repos/acme/widgets/issues/comments/${firstId}`,
    ]);
    expect(github.comments.get(1)).toHaveLength(1);
    expect(second.outputs['comment-url']).toBe(first.outputs['comment-url'] ?? '');
    expect(github.issues).toHaveLength(1);
  });

  it('adds a separate comment for another month', async () => {
    await run();
    await run({ month: '2026-11' });
    const bodies = (github.comments.get(1) ?? []).map((c) => c.body.split('\n')[0]);
    expect(bodies).toEqual([MARKER, '<!-- warmsync-roi:2026-11 -->']);
  });

  it('finds the month’s comment past the first page of comments', async () => {
    github.issues.push({ number: 1, title: 'warmsync ROI report', body: '' });
    const older = Array.from({ length: 130 }, (_, i) => ({ id: i + 1, body: `chatter ${i}` }));
    older.push({ id: 500, body: `${MARKER}\nold report` });
    github.comments.set(1, older);
    const result = await run();
    expect(result.exitCode).toBe(0);
    const commentCalls = github.requests.filter((r) => r.path.endsWith('/comments'));
    expect(commentCalls.map((r) => new URLSearchParams(r.search).get('page') ?? '1')).toEqual(['1', '2']);
    expect(calls().at(-1)).toBe('PATCH /repos/acme/widgets/issues/comments/500');
    expect(github.comments.get(1)).toHaveLength(131);
  });

  it('uses the issue given by number, without listing or creating issues', async () => {
    github.issues.push({ number: 1, title: 'other', body: '' }, { number: 2, title: 'ROI', body: '' });
    const result = await run({ 'issue-number': '2' });
    expect(result.exitCode).toBe(0);
    expect(calls()).toEqual([
      'GET /repos/acme/widgets/issues/2',
      'GET /repos/acme/widgets/issues/2/comments',
      'POST /repos/acme/widgets/issues/2/comments',
    ]);
  });

  it('skips pull requests that share the title when looking for the issue', async () => {
    github.issues.push({ number: 1, title: 'warmsync ROI report', body: '', pull_request: { url: 'x' } });
    await run();
    expect(calls()).toContain('POST /repos/acme/widgets/issues');
    expect(github.comments.get(2)).toHaveLength(1);
  });
});

describe('mode roi-report failures', () => {
  const cases = [
    [401, 'GitHub rejected the token while trying to list the open issues of acme/widgets (HTTP 401)'],
    [
      403,
      "GitHub refused to list the open issues of acme/widgets (HTTP 403: Resource not accessible by integration): the job needs 'permissions: issues: write'",
    ],
    [404, 'GitHub found nothing when trying to list the open issues of acme/widgets (HTTP 404)'],
  ] as const;
  for (const [status, message] of cases) {
    it(`fails with exit code 1 and a clear message on HTTP ${status}`, async () => {
      github.failWith = status;
      const result = await run();
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(`::error::${message}`);
    });
  }

  it('fails clearly when the issue number does not exist', async () => {
    const result = await run({ 'issue-number': '42' });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      '::error::GitHub found nothing when trying to read issue #42 of acme/widgets (HTTP 404)',
    );
  });

  it('fails naming the config file when it is missing, before calling GitHub', async () => {
    const result = await run({ config: 'missing.json' });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(`::error::config ${join(workspace, 'missing.json')}: file not found`);
    expect(github.requests).toHaveLength(0);
  });

  it('fails naming the Prometheus URL when it cannot be reached', async () => {
    const result = await run({ 'prometheus-url': 'http://127.0.0.1:9/prom' });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      '::error::cannot reach Prometheus at http://127.0.0.1:9/prom/api/v1/query',
    );
  });

  it('fails on an unknown mode', async () => {
    const result = await run({ mode: 'deploy' });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("::error::input 'mode' must be 'roi-report' or 'prewarm', got 'deploy'");
  });
});
