/**
 * The requests and answers of the hub's conflict and history routes, as zod schemas: the hub
 * parses requests with them, the CLI parses answers with them.
 */
import { z } from 'zod';
import { relativePathSchema } from './protocol.ts';

/** Paths in one `resolve` request (the CLI sends `--all` as a flag, not a list). */
export const MAX_RESOLVE_PATHS = 10_000;

export const conflictRecordSchema = z.object({
  path: z.string(),
  copyPath: z.string(),
  seq: z.number(),
  at: z.string(),
  keptAgent: z.string(),
  copyAgent: z.string(),
});

export const conflictsResponseSchema = z.object({ conflicts: z.array(conflictRecordSchema) });
export type ConflictsResponse = z.infer<typeof conflictsResponseSchema>;

export const keepSchema = z.enum(['current', 'copy', 'both']);

export const resolveRequestSchema = z.union([
  z.object({ all: z.literal(true), keep: keepSchema }),
  z.object({ paths: z.array(relativePathSchema).min(1).max(MAX_RESOLVE_PATHS), keep: keepSchema }),
]);
export type ResolveRequest = z.infer<typeof resolveRequestSchema>;

export const resolveResultSchema = z.object({
  path: z.string(),
  copyPath: z.string().optional(),
  status: z.enum(['settled', 'refused']),
  keep: keepSchema.optional(),
  code: z.string().optional(),
  message: z.string(),
});
export type ResolveResult = z.infer<typeof resolveResultSchema>;

export const resolveResponseSchema = z.object({ head: z.number(), results: z.array(resolveResultSchema) });
export type ResolveResponse = z.infer<typeof resolveResponseSchema>;

/** One version as `history` shows it: what it held, who made it, when the hub took and replaced it. */
export const versionSummarySchema = z.object({
  version: z.number(),
  kind: z.enum(['file', 'dir', 'symlink', 'deleted']),
  size: z.number().optional(),
  hash: z.string().optional(),
  target: z.string().optional(),
  agent: z.string(),
  at: z.string(),
  current: z.boolean(),
  replacedAt: z.string().optional(),
  replacedBy: z.number().optional(),
});
export type VersionSummary = z.infer<typeof versionSummarySchema>;

export const historyResponseSchema = z.object({
  path: z.string(),
  retentionDays: z.number(),
  versions: z.array(versionSummarySchema),
});
export type HistoryResponse = z.infer<typeof historyResponseSchema>;

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date and time');

export const restoreRequestSchema = z.object({
  path: relativePathSchema,
  version: z.number().int().positive().optional(),
  before: isoTime.optional(),
});
export type RestoreRequest = z.infer<typeof restoreRequestSchema>;

export const restoreResponseSchema = z.object({
  path: z.string(),
  restored: z.number(),
  seq: z.number(),
  unchanged: z.boolean(),
});
export type RestoreResponse = z.infer<typeof restoreResponseSchema>;
