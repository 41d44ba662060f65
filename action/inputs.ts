import { z } from 'zod';
import { workspaceNameSchema } from '../src/core/protocol.ts';

/** Reads one input the way the runner passes it (`INPUT_<NAME>`), trimmed; empty means absent. */
export type InputReader = (name: string) => string;

const optional = z
  .string()
  .transform((s) => s.trim())
  .transform((s) => (s === '' ? undefined : s));

const httpUrl = (name: string) =>
  z.url({ protocol: /^https?$/, error: `input '${name}' must be an http(s) URL` });

const positiveInteger = (name: string) =>
  z
    .string()
    .regex(/^[1-9][0-9]*$/, `input '${name}' must be a positive integer`)
    .transform(Number);

const roiReportInputs = z.object({
  mode: z.literal('roi-report'),
  githubToken: z.string().min(1, "input 'github-token' is required (it defaults to the workflow's token)"),
  prometheusUrl: optional.pipe(httpUrl('prometheus-url')),
  config: optional.pipe(z.string({ error: "input 'config' is required in mode roi-report" })),
  month: optional,
  issueNumber: optional.pipe(positiveInteger('issue-number').optional()),
  issueTitle: optional.transform((s) => s ?? 'warmsync ROI report'),
});

const prewarmInputs = z
  .object({
    mode: z.literal('prewarm'),
    historyDepth: optional.pipe(positiveInteger('history-depth').default(200)),
    serverUrl: optional.pipe(httpUrl('server-url').optional()),
    workspace: optional.pipe(
      z
        .string()
        .refine((name) => workspaceNameSchema.safeParse(name).success, {
          error:
            "input 'workspace' must be a workspace name: 1-64 of A-Z a-z 0-9 . _ - starting alphanumeric",
        })
        .optional(),
    ),
    token: optional,
    npmCache: optional.transform((s) => s ?? '~/.npm'),
    saveCache: optional.pipe(
      z
        .enum(['true', 'false'], { error: "input 'save-cache' must be 'true' or 'false'" })
        .default('false')
        .transform((s) => s === 'true'),
    ),
  })
  .refine((inputs) => !inputs.serverUrl || inputs.workspace, {
    error: "input 'workspace' is required with 'server-url': the hub keeps snapshots per workspace",
  });

/** The Action's inputs, validated, as a union on `mode`. */
export type ActionInputs = z.infer<typeof roiReportInputs> | z.infer<typeof prewarmInputs>;

/**
 * Reads and validates the inputs. Names are the kebab-case ones of action.yml; defaults that the
 * runner fills from action.yml are repeated here so that a missing input is never an undefined.
 *
 * @example
 * const inputs = readInputs((name) => core.getInput(name));
 */
export function readInputs(read: InputReader): ActionInputs {
  const mode = read('mode').trim();
  const raw =
    mode === 'roi-report'
      ? {
          mode,
          githubToken: read('github-token').trim(),
          prometheusUrl: read('prometheus-url'),
          config: read('config'),
          month: read('month'),
          issueNumber: read('issue-number'),
          issueTitle: read('issue-title'),
        }
      : mode === 'prewarm'
        ? {
            mode,
            historyDepth: read('history-depth'),
            serverUrl: read('server-url'),
            workspace: read('workspace'),
            token: read('token'),
            npmCache: read('npm-cache'),
            saveCache: read('save-cache'),
          }
        : undefined;
  if (!raw) throw new Error(`input 'mode' must be 'roi-report' or 'prewarm', got '${mode}'`);
  const schema = raw.mode === 'roi-report' ? roiReportInputs : prewarmInputs;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(issue?.message ?? 'invalid inputs');
  }
  return parsed.data;
}
