import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { RoiError } from './errors.ts';

const nonNegative = z.number().finite().nonnegative();

/**
 * The ROI config file. Every money figure is in USD. There are no hidden defaults: each figure the
 * report uses is written in this file or measured, and the report says which.
 *
 * `minutesLostPerEngineerPerDayAfter` may be left out; the report then derives it from the month's
 * measurements (time spent waiting on syncs at p95 latency, plus `minutesPerConflict` for each
 * conflict), so `minutesPerConflict` is required in that case.
 */
export const roiConfigSchema = z
  .strictObject({
    /** Free text for the reader of the file; ignored. */
    $comment: z.string().optional(),
    engineers: z.number().int().positive(),
    blendedHourlyRate: nonNegative,
    minutesLostPerEngineerPerDayBefore: nonNegative,
    minutesLostPerEngineerPerDayAfter: nonNegative.optional(),
    minutesPerConflict: nonNegative.optional(),
    workingDaysPerMonth: z.number().finite().positive().max(31),
    infraCostBeforeMonthly: nonNegative,
    infraCostAfterMonthly: nonNegative,
  })
  .refine((c) => c.minutesLostPerEngineerPerDayAfter !== undefined || c.minutesPerConflict !== undefined, {
    path: ['minutesPerConflict'],
    message:
      'required when minutesLostPerEngineerPerDayAfter is absent (it is then derived from measured syncs and conflicts)',
  });

/** A validated ROI config. */
export type RoiConfig = z.infer<typeof roiConfigSchema>;

/**
 * Parses the text of a config file. `sourceName` (usually the path) starts every error message, so
 * the user sees in one line which file and which field is wrong.
 *
 * @example
 * parseRoiConfig('{"engineers": 0}', 'roi.json');
 * // throws RoiError: roi.json: engineers: Too small: expected number to be >0
 */
export function parseRoiConfig(text: string, sourceName: string): RoiConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new RoiError('config', `${sourceName}: not valid JSON (${detail})`);
  }
  const parsed = roiConfigSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  throw new RoiError('config', `${sourceName}: ${field}: ${issue?.message ?? 'invalid config'}`);
}

/** Reads and parses a config file; a missing or unreadable file is a one-line {@link RoiError}. */
export async function readRoiConfig(path: string): Promise<RoiConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? String(error)})`;
    throw new RoiError('config', `config ${path}: ${why}`);
  }
  return parseRoiConfig(text, path);
}
