import { isAbsolute, join } from 'node:path';
import type { Octokit } from '@octokit/rest';
import { readRoiConfig } from '../src/roi/config.ts';
import { monthWindow, previousMonth } from '../src/roi/month.ts';
import { createPrometheusClient } from '../src/roi/prometheus.ts';
import { renderMarkdown, reportMarker } from '../src/roi/render.ts';
import { buildRoiReport } from '../src/roi/report.ts';
import type { RepoRef } from './github.ts';
import { findOrCreateIssue, upsertMonthComment } from './issue-comment.ts';

/** What the roi-report mode needs; `main.ts` builds it from the inputs and the environment. */
export interface RoiReportRun {
  octokit: Octokit;
  repo: RepoRef;
  /** The checked-out repository; a relative config path is read from here. */
  workspaceDir: string;
  prometheusUrl: string;
  configPath: string;
  month: string | undefined;
  issue: { number?: number; title: string };
  /** A line appended to the comment, for example a link to the workflow run. */
  footer: string | undefined;
  now: Date;
  log: (line: string) => void;
}

/** What the mode reports back as outputs and job summary. */
export interface RoiReportOutcome {
  month: string;
  markdown: string;
  commentUrl: string;
  issueNumber: number;
  /** USD with cents, or '' when the month has no data to compute it. */
  netMonthlyValue: string;
}

/**
 * Computes the month's ROI report and writes it as the month's comment on the tracking issue,
 * creating the issue when missing and editing the month's comment in place on reruns.
 */
export async function runRoiReport(run: RoiReportRun): Promise<RoiReportOutcome> {
  const month = run.month === undefined ? previousMonth(run.now) : monthWindow(run.month);
  const configFile = isAbsolute(run.configPath) ? run.configPath : join(run.workspaceDir, run.configPath);
  const config = await readRoiConfig(configFile);
  const prometheus = createPrometheusClient({ baseUrl: run.prometheusUrl });
  const report = await buildRoiReport({ prometheus, config, configSource: run.configPath, month });
  const markdown = renderMarkdown(report);
  const body = run.footer ? `${markdown}\n${run.footer}\n` : markdown;

  const issue = await findOrCreateIssue(run.octokit, run.repo, run.issue);
  run.log(`${issue.created ? 'Created' : 'Using'} tracking issue #${issue.number}: ${issue.url}`);
  const comment = await upsertMonthComment(
    run.octokit,
    run.repo,
    issue.number,
    reportMarker(month.label),
    body,
  );
  run.log(`${comment.action === 'created' ? 'Posted' : 'Updated'} the ${month.label} report: ${comment.url}`);

  const net = report.roi.netMonthlyValue;
  return {
    month: month.label,
    markdown,
    commentUrl: comment.url,
    issueNumber: issue.number,
    netMonthlyValue: 'value' in net ? net.value.toFixed(2) : '',
  };
}
