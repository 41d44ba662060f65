import { Octokit } from '@octokit/rest';

/** The repository the workflow runs in. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** Parses `GITHUB_REPOSITORY` (`owner/name`). */
export function repoFromEnv(value: string | undefined): RepoRef {
  const [owner, repo, ...rest] = (value ?? '').split('/');
  if (!owner || !repo || rest.length > 0) {
    throw new Error(`GITHUB_REPOSITORY must be 'owner/name', got '${value ?? ''}'`);
  }
  return { owner, repo };
}

/**
 * An Octokit for the REST API at `GITHUB_API_URL` (GitHub Enterprise Server, or a local stand-in in
 * tests), `https://api.github.com` when unset.
 */
export function createGitHub(token: string, apiUrl: string | undefined): Octokit {
  return new Octokit({
    auth: token,
    baseUrl: (apiUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: 'warmsync-action',
    log: { debug: () => {}, info: () => {}, warn: console.warn, error: console.error },
  });
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  return typeof error.status === 'number' ? error.status : undefined;
}

/**
 * Runs one GitHub call and turns the failures a user can fix into one clear sentence naming what
 * was being done: a rejected token (401), missing permission (403), something not found (404).
 *
 * @example
 * await explainGitHubErrors('list comments of issue #7', () => octokit.paginate(...));
 */
export async function explainGitHubErrors<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const status = httpStatus(error);
    const detail = error instanceof Error ? error.message : String(error);
    switch (status) {
      case 401:
        throw new Error(
          `GitHub rejected the token while trying to ${what} (HTTP 401): check the github-token input`,
        );
      case 403:
        throw new Error(
          `GitHub refused to ${what} (HTTP 403: ${detail}): the job needs 'permissions: issues: write'`,
        );
      case 404:
        throw new Error(
          `GitHub found nothing when trying to ${what} (HTTP 404): check the repository, the issue number, and that the token can see them`,
        );
      default:
        throw new Error(`GitHub failed to ${what}${status ? ` (HTTP ${status})` : ''}: ${detail}`);
    }
  }
}
