import type { Octokit } from '@octokit/rest';
import { explainGitHubErrors, type RepoRef } from './github.ts';

/** The tracking issue the monthly comments go to. */
export interface TrackingIssue {
  number: number;
  url: string;
  created: boolean;
}

const ISSUE_BODY = [
  'Monthly return on investment of warmsync, computed from Prometheus measurements and a cost config.',
  '',
  'One comment per month, updated in place when the report runs again.',
].join('\n');

/**
 * Finds the tracking issue: by number when given, else the first open issue with exactly this title
 * (pull requests excluded), else a new issue with that title.
 */
export async function findOrCreateIssue(
  octokit: Octokit,
  repo: RepoRef,
  target: { number?: number; title: string },
): Promise<TrackingIssue> {
  const where = `${repo.owner}/${repo.repo}`;
  if (target.number !== undefined) {
    const issueNumber = target.number;
    const { data } = await explainGitHubErrors(`read issue #${issueNumber} of ${where}`, () =>
      octokit.rest.issues.get({ ...repo, issue_number: issueNumber }),
    );
    return { number: data.number, url: data.html_url, created: false };
  }
  const existing = await explainGitHubErrors(`list the open issues of ${where}`, () =>
    octokit.paginate(
      octokit.rest.issues.listForRepo,
      { ...repo, state: 'open', per_page: 100 },
      (response, done) => {
        const match = response.data.find((issue) => !issue.pull_request && issue.title === target.title);
        if (match) done();
        return match ? [match] : [];
      },
    ),
  );
  const [found] = existing;
  if (found) return { number: found.number, url: found.html_url, created: false };
  const { data } = await explainGitHubErrors(`create the issue '${target.title}' in ${where}`, () =>
    octokit.rest.issues.create({ ...repo, title: target.title, body: ISSUE_BODY }),
  );
  return { number: data.number, url: data.html_url, created: true };
}

/** The comment written for the month. */
export interface MonthComment {
  id: number;
  url: string;
  action: 'created' | 'updated';
}

/**
 * Writes `body` as the month's comment on the issue: the comment whose body contains `marker` is
 * edited in place, otherwise a new one is created. Reruns therefore never add a second comment.
 * Invariant: `body` contains `marker`, so the comment created now is found by the next run.
 */
export async function upsertMonthComment(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  marker: string,
  body: string,
): Promise<MonthComment> {
  if (!body.includes(marker)) throw new Error('the comment body must contain its marker');
  const where = `issue #${issueNumber} of ${repo.owner}/${repo.repo}`;
  const comments = await explainGitHubErrors(`list the comments of ${where}`, () =>
    octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: issueNumber, per_page: 100 }),
  );
  const previous = comments.find((comment) => comment.body?.includes(marker));
  if (previous) {
    const { data } = await explainGitHubErrors(`update comment ${previous.id} on ${where}`, () =>
      octokit.rest.issues.updateComment({ ...repo, comment_id: previous.id, body }),
    );
    return { id: data.id, url: data.html_url, action: 'updated' };
  }
  const { data } = await explainGitHubErrors(`comment on ${where}`, () =>
    octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body }),
  );
  return { id: data.id, url: data.html_url, action: 'created' };
}
