/**
 * Flag parsing shared by the commands: node:util's parseArgs for the syntax, then zod for the
 * values, so every flag is checked once where it enters.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { z } from 'zod';
import { describeZodError } from '../core/protocol.ts';
import { UserError } from './user-error.ts';

export function parseFlags(
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UserError(error instanceof Error ? error.message.split('\n')[0]! : String(error), 2);
  }
}

/** Validates parsed flag values with a schema; a failure names the flag and the rule. */
export function validateFlags<T extends z.ZodType>(schema: T, values: unknown): z.infer<T> {
  const result = schema.safeParse(values);
  if (!result.success) throw new UserError(`invalid option: ${describeZodError(result.error)}`, 2);
  return result.data;
}
