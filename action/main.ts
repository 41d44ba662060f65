/**
 * The warmsync GitHub Action: its composition root. Runs on Node (the runner's node24), so neither
 * this file nor anything it imports may use a Bun-only API. Bundled into action/dist/index.js.
 */
import { realpathSync } from 'node:fs';
import { devNull, homedir } from 'node:os';
import { resolve } from 'node:path';
import * as core from '@actions/core';
import { chooseUserconfig } from '../src/prewarm/npm-policy.ts';
import { createGitHub, repoFromEnv } from './github.ts';
import { readInputs } from './inputs.ts';
import { runPrewarm } from './prewarm.ts';
import { runRoiReport } from './roi-report.ts';

/** The runner's npm user config (setup-node's, or ~/.npmrc); never a file of the checkout. */
function npmUserconfig(env: NodeJS.ProcessEnv, workspaceDir: string): string {
  const realpath = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  };
  const choice = chooseUserconfig({
    env,
    home: homedir(),
    workspace: realpath(workspaceDir),
    emptyConfig: devNull,
    realpath,
  });
  if (choice.note) core.warning(choice.note);
  return choice.path;
}

function runLink(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: runId } = env;
  if (!server || !repo || !runId) return undefined;
  return `<sub>Updated by workflow run [${runId}](${server}/${repo}/actions/runs/${runId}).</sub>`;
}

async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const inputs = readInputs((name) => core.getInput(name));
  const workspaceDir = env.GITHUB_WORKSPACE ?? process.cwd();
  switch (inputs.mode) {
    case 'roi-report': {
      core.setSecret(inputs.githubToken);
      const outcome = await runRoiReport({
        octokit: createGitHub(inputs.githubToken, env.GITHUB_API_URL),
        repo: repoFromEnv(env.GITHUB_REPOSITORY),
        workspaceDir,
        prometheusUrl: inputs.prometheusUrl,
        configPath: inputs.config,
        month: inputs.month,
        issue: { number: inputs.issueNumber, title: inputs.issueTitle },
        footer: runLink(env),
        now: new Date(),
        log: (line) => core.info(line),
      });
      core.setOutput('comment-url', outcome.commentUrl);
      core.setOutput('net-monthly-value', outcome.netMonthlyValue);
      core.setOutput('issue-number', String(outcome.issueNumber));
      core.setOutput('month', outcome.month);
      await core.summary.addRaw(outcome.markdown, true).write();
      return;
    }
    case 'prewarm': {
      if (inputs.token) core.setSecret(inputs.token);
      const report = await runPrewarm({
        repoDir: workspaceDir,
        os: env.RUNNER_OS ?? process.platform,
        historyDepth: inputs.historyDepth,
        serverUrl: inputs.serverUrl,
        workspace: inputs.workspace,
        token: inputs.token,
        npmCache: inputs.npmCache,
        saveCache: inputs.saveCache,
        sha: env.GITHUB_SHA,
        eventPath: env.GITHUB_EVENT_PATH,
        workRoot: env.RUNNER_TEMP,
        userconfig: npmUserconfig(env, workspaceDir),
        log: (line) => core.info(line),
        warn: (line) => core.warning(line),
      });
      core.info(`Cache key: ${report.cacheKey} (${report.lockfiles.length} lockfiles)`);
      if (report.cacheSave) core.info(report.cacheSave.note);
      if (report.snapshot?.uploaded) core.info(report.snapshot.note);
      core.setOutput('cache-key', report.cacheKey);
      core.setOutput('lockfiles', report.lockfiles.map((f) => f.path).join('\n'));
      core.setOutput('hot-files', report.hotFiles.map((f) => f.path).join('\n'));
      // No npm import in the hot set is no data, never a 0 % estimate.
      const estimate = report.hitRateEstimate;
      core.setOutput('hit-rate-estimate', estimate === undefined ? '' : estimate.toFixed(4));
      core.setOutput('warmed', String(report.warmed));
      core.setOutput('cache-saved', String(report.cacheSave?.saved ?? false));
      core.setOutput('snapshot-uploaded', String(report.snapshot?.uploaded ?? false));
      core.setOutput('lock-hash', report.snapshot?.lockHash ?? '');
      await core.summary.addRaw(report.summary, true).write();
      // A hub was named, so an upload that did not happen fails the step (after the outputs and
      // the summary are written): a green run must mean the snapshot is there.
      if (report.snapshot && !report.snapshot.uploaded) core.setFailed(report.snapshot.note);
      return;
    }
    default: {
      const unknown: never = inputs;
      throw new Error(`unhandled mode ${JSON.stringify(unknown)}`);
    }
  }
}

main(process.env).catch((error: unknown) => {
  core.setFailed(error instanceof Error ? error.message : String(error));
});
