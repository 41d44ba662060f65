/**
 * The messages between agents and the hub, as zod schemas. Everything that arrives over the
 * network is parsed with these exactly once, where it enters; inside, the types are trusted.
 */
import { z } from 'zod';
import { checkRelativePath } from './paths.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');

/** A workspace name: short, filesystem- and URL-safe. */
export const workspaceNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'workspace names are 1-64 of A-Z a-z 0-9 . _ - and start alphanumeric',
  );

export const agentIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'agent ids are 1-40 of a-z 0-9 -');

/** A relative path, checked by the path rules (git folders allowed here; the server narrows). */
export const relativePathSchema = z.string().superRefine((value, ctx) => {
  const check = checkRelativePath(value, { allowGit: true });
  if (!check.ok) ctx.addIssue({ code: 'custom', message: check.reason });
});

export const vectorSchema = z.record(
  z.string().max(64),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
);

const MAX_CHUNKS_PER_FILE = 1_000_000;

export const contentSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('file'),
    hash: sha256,
    size: z.number().int().nonnegative(),
    exec: z.boolean(),
    chunks: z.array(z.tuple([sha256, z.number().int().nonnegative()])).max(MAX_CHUNKS_PER_FILE),
    /** Permission bits (0o777 at most) that a peer gives the file when it creates it. */
    mode: z.number().int().min(0).max(0o777).optional(),
  }),
  z.object({ kind: z.literal('dir') }),
  z.object({
    kind: z.literal('symlink'),
    target: z
      .string()
      .min(1)
      .max(4096)
      .refine((t) => !t.includes('\0')),
  }),
  z.object({ kind: z.literal('deleted') }),
]);

export const manifestEntrySchema = z.object({
  path: relativePathSchema,
  content: contentSchema,
  vector: vectorSchema,
  seq: z.number().int().positive(),
  agent: z.string(),
  branch: z.string().max(256).optional(),
});

export const pushedChangeSchema = z.object({
  path: relativePathSchema,
  content: contentSchema,
  vector: vectorSchema,
});

/** Header of a push envelope (chunk frames follow it). */
export const pushHeaderSchema = z.object({
  agent: agentIdSchema,
  branch: z.string().max(256).optional(),
  /** 'branch-switch' marks a checkout: the hub applies it as one transaction, peers as one batch. */
  batch: z.enum(['edits', 'branch-switch']).default('edits'),
  // A push may carry only chunks (the first part of a large upload) and no changes.
  changes: z.array(pushedChangeSchema).max(50_000),
});
export type PushHeader = z.infer<typeof pushHeaderSchema>;

export const changeResultSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('accepted'), path: z.string(), seq: z.number(), vector: vectorSchema }),
  z.object({ status: z.literal('unchanged'), path: z.string() }),
  z.object({
    status: z.literal('conflict'),
    path: z.string(),
    seq: z.number(),
    copyPath: z.string().optional(),
    reason: z.string(),
  }),
  z.object({ status: z.literal('rejected'), path: z.string(), code: z.string(), message: z.string() }),
]);
export type ChangeResult = z.infer<typeof changeResultSchema>;

export const pushResponseSchema = z.object({
  head: z.number(),
  results: z.array(changeResultSchema),
  missingChunks: z.array(sha256),
});
export type PushResponse = z.infer<typeof pushResponseSchema>;

export const changesResponseSchema = z.object({
  head: z.number(),
  entries: z.array(manifestEntrySchema),
  more: z.boolean(),
});
export type ChangesResponse = z.infer<typeof changesResponseSchema>;

export const missingRequestSchema = z.object({ hashes: z.array(sha256).max(100_000) });
export const fetchRequestSchema = z.object({
  want: z
    .array(z.object({ hash: sha256, base: sha256.optional() }))
    .min(1)
    .max(10_000),
});

/** Chunk hashes in one `wanted` message: enough for a large file's worth of lost chunks. */
export const WANTED_HASHES_MAX = 1000;

/** Hub -> agent over the live WebSocket. Binary messages are envelopes with an `entries` header. */
export const liveHeaderSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), head: z.number() }),
  z.object({
    type: z.literal('entries'),
    from: z.number(),
    to: z.number(),
    origin: z.string(),
    batch: z.enum(['edits', 'branch-switch']),
    entries: z.array(manifestEntrySchema),
  }),
  /**
   * Chunks another agent of the workspace could not get (lost or damaged on the hub): an agent
   * whose files hold them uploads them again.
   */
  z.object({ type: z.literal('wanted'), hashes: z.array(sha256).max(WANTED_HASHES_MAX) }),
]);
export type LiveHeader = z.infer<typeof liveHeaderSchema>;

export const problemSchema = z.object({
  path: z.string().max(4200),
  code: z.string().max(64),
  message: z.string().max(500),
});
export type Problem = z.infer<typeof problemSchema>;

/** Agent -> hub over the live WebSocket. */
export const agentMessageSchema = z.discriminatedUnion('type', [
  /** The agent has applied everything up to `cursor`. `pending` is its count of unpushed local changes. */
  z.object({
    type: z.literal('cursor'),
    cursor: z.number().int().nonnegative(),
    pending: z.number().int().nonnegative(),
  }),
  z.object({ type: z.literal('problems'), problems: z.array(problemSchema).max(1000) }),
  /** Chunks the hub could not give this agent; relayed to the workspace's other agents. */
  z.object({ type: z.literal('wanted'), hashes: z.array(sha256).max(WANTED_HASHES_MAX) }),
]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;

export const statusSchema = z.object({
  workspaces: z.array(
    z.object({
      name: z.string(),
      head: z.number(),
      files: z.number(),
      bytes: z.number(),
      conflicts: z.number(),
      agents: z.array(
        z.object({
          id: z.string(),
          cursor: z.number(),
          behind: z.number(),
          pending: z.number(),
          connectedForSeconds: z.number(),
          problems: z.array(problemSchema),
        }),
      ),
    }),
  ),
  bytesIn: z.number(),
  bytesOut: z.number(),
});
export type Status = z.infer<typeof statusSchema>;

/** Formats a zod error as one line for a 400 reply or a CLI message. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
