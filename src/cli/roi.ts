/**
 * `warmsync roi`: the monthly ROI report. Composition root: reads the config, builds the Prometheus
 * client, and prints the report as Markdown or JSON.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readRoiConfig } from '../roi/config.ts';
import { RoiError } from '../roi/errors.ts';
import { monthWindow, previousMonth } from '../roi/month.ts';
import { createPrometheusClient } from '../roi/prometheus.ts';
import { renderJson, renderMarkdown } from '../roi/render.ts';
import { buildRoiReport } from '../roi/report.ts';
import type { Command } from './command.ts';
import { UserError } from './user-error.ts';

const USAGE = `Usage: warmsync roi --prometheus URL --config FILE [--month YYYY-MM] [--format md|json]

Computes the month's return on investment from a config file (team size, rates, costs) and the
measurements in Prometheus (sync latency, pre-warm hit rate, conflicts, bytes), and prints it.

Options:
  --prometheus URL   Prometheus base URL, for example http://127.0.0.1:9090
  --config FILE      JSON config; see src/roi/examples/roi-config.json
  --month YYYY-MM    the UTC calendar month to report on (default: the previous month)
  --format md|json   Markdown with formulas and charts (default), or JSON
  -h, --help         print this help`;

const flagsSchema = z.object({
  prometheus: z.url({ protocol: /^https?$/, error: '--prometheus must be an http(s) URL' }),
  config: z.string({ error: '--config FILE is required' }).min(1, '--config FILE is required'),
  month: z.string().optional(),
  format: z.enum(['md', 'json'], { error: "--format must be 'md' or 'json'" }).default('md'),
});

function parseFlags(args: string[]) {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      options: {
        prometheus: { type: 'string' },
        config: { type: 'string' },
        month: { type: 'string' },
        format: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new UserError(`roi: ${detail}; run 'warmsync roi --help' for usage`, 2);
  }
  if (values.help) return 'help' as const;
  if (values.prometheus === undefined) throw new UserError('roi: --prometheus URL is required', 2);
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) throw new UserError(`roi: ${parsed.error.issues[0]?.message ?? 'bad flags'}`, 2);
  return parsed.data;
}

/** The `roi` sub-command. */
export const roiCommand: Command = {
  summary: 'monthly ROI report from Prometheus metrics and a cost config (Markdown or JSON)',
  async run(args) {
    const flags = parseFlags(args);
    if (flags === 'help') {
      console.log(USAGE);
      return 0;
    }
    try {
      const month = flags.month === undefined ? previousMonth(new Date()) : monthWindow(flags.month);
      const config = await readRoiConfig(flags.config);
      const prometheus = createPrometheusClient({ baseUrl: flags.prometheus });
      const report = await buildRoiReport({ prometheus, config, configSource: flags.config, month });
      process.stdout.write(flags.format === 'json' ? renderJson(report) : renderMarkdown(report));
      return 0;
    } catch (error) {
      if (error instanceof RoiError) throw new UserError(`roi: ${error.message}`);
      throw error;
    }
  },
};
