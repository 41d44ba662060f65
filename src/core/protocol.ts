/**
 * The messages between agents and the hub, as zod schemas. Everything that arrives over the
 * network is parsed with these exactly once, where it enters; inside, the types are trusted.
 */
import { z } from 'zod';
import {
  MAX_CHUNK_BYTES,
  MAX_CHUNKS_PER_FILE,
  MAX_FETCH_WANT,
  MAX_FILE_BYTES,
  MAX_MISSING_HASHES,
  MAX_PUSH_CHANGES,
} from './limits.ts';
import { checkRelativePath } from './paths.ts';
import { HUB_ID } from './resolve.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');

/** A workspace name: short, filesystem- and URL-safe. */
export const workspaceNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'workspace names are 1-64 of A-Z a-z 0-9 . _ - and start alphanumeric',
  );

/**
 * An agent id: 8 to 32 lower-case hex digits (agents make theirs from random bytes, see
 * src/agent/state.ts). Ids are version-vector keys, so the syntax leaves out every name an object
 * has by inheritance (`constructor`, `__proto__`).
 */
export const agentIdSchema = z.string().regex(/^[0-9a-f]{8,32}$/, 'agent ids are 8-32 lower-case hex digits');

/** 128 random bits, hex: unique per push without any coordination. */
export const pushIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'push ids are 32 lower-case hex digits');

/** A version-vector key: an agent id, or the hub's own id for the conflicts it settles. */
const vectorKeySchema = z.union([agentIdSchema, z.literal(HUB_ID)]);

/**
 * A relative path, checked by the path rules (git folders and any depth allowed here: the hub
 * and the agents narrow, path by path).
 */
export const relativePathSchema = z.string().superRefine((value, ctx) => {
  const check = checkRelativePath(value, { allowGit: true, anyDepth: true });
  if (!check.ok) ctx.addIssue({ code: 'custom', message: check.reason });
});

/**
 * A version vector. zod leaves a `__proto__` key out of the records it returns instead of failing
 * on it, so that key is refused here first: a vector the hub accepts is the vector it stores.
 */
export const vectorSchema = z
  .unknown()
  .refine((value) => typeof value !== 'object' || value === null || !Object.hasOwn(value, '__proto__'), {
    message: 'version-vector keys are agent ids (8-32 hex digits) or ~hub, not __proto__',
  })
  .pipe(z.record(vectorKeySchema, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)));

/**
 * A file's content. Sizes are bounded (see MAX_FILE_BYTES), so that the hub's check that the chunk
 * sizes add up to the file's size is exact; that they do is checked where the content is committed
 * (src/server/push.ts), so one bad entry is refused on its own and not its whole push.
 */
const chunkSizeSchema = z
  .number()
  .int()
  .nonnegative()
  .max(MAX_CHUNK_BYTES, 'a chunk is at most 1 MiB (1048576 bytes)');
const chunkListSchema = z
  .array(z.tuple([sha256, chunkSizeSchema]))
  .max(MAX_CHUNKS_PER_FILE, `a file has at most ${MAX_CHUNKS_PER_FILE} chunks`);
const chunkCountSchema = z.number().int().nonnegative().max(MAX_CHUNKS_PER_FILE);

/** A large file's chunk list as an edit of an older one (see core/chunk-edit.ts). */
const chunkEditSchema = z.object({
  from: sha256,
  ops: z
    .array(z.union([z.tuple([sha256, chunkSizeSchema]), z.tuple([chunkCountSchema, chunkCountSchema])]))
    .max(MAX_CHUNKS_PER_FILE, `a chunk edit has at most ${MAX_CHUNKS_PER_FILE} ops`),
});

const fileFields = {
  kind: z.literal('file'),
  hash: sha256,
  size: z.number().int().nonnegative().max(MAX_FILE_BYTES, 'a file is at most 1 TiB (1099511627776 bytes)'),
  exec: z.boolean(),
  /** Permission bits (0o777 at most) that a peer gives the file when it creates it. */
  mode: z.number().int().min(0).max(0o777).optional(),
};
const otherContents = [
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
] as const;

/**
 * A file's content. Sizes are bounded (see MAX_FILE_BYTES), so that the hub's check that the chunk
 * sizes add up to the file's size is exact; that they do is checked where the content is committed
 * (src/server/push.ts), so one bad entry is refused on its own and not its whole push.
 */
export const contentSchema = z.discriminatedUnion('kind', [
  z.object({ ...fileFields, chunks: chunkListSchema }),
  ...otherContents,
]);

/**
 * A content as pushes and live messages carry it: a file's chunk list whole, or as an edit of the
 * version the receiver holds, which the receiver expands before anything else reads it.
 */
export const wireContentSchema = z.discriminatedUnion('kind', [
  z
    .object({ ...fileFields, chunks: chunkListSchema.optional(), edit: chunkEditSchema.optional() })
    .refine((file) => (file.chunks === undefined) !== (file.edit === undefined), {
      message: 'a file carries its chunk list or an edit of one, not both and not neither',
    }),
  ...otherContents,
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
  /** The version is the agent's three-way merge of concurrent edits (counted and audited). */
  merged: z.literal(true).optional(),
});

/** Header of a push envelope (chunk frames follow it). */
export const pushHeaderSchema = z.object({
  agent: agentIdSchema,
  branch: z.string().max(256).optional(),
  /** 'branch-switch' marks a checkout: the hub applies it as one transaction, peers as one batch. */
  batch: z.enum(['edits', 'branch-switch']).default('edits'),
  /**
   * Names this push for its answer: a push sent again under the same id (its first answer was
   * lost) is answered from the record of the first, never committed twice.
   */
  pushId: pushIdSchema.optional(),
  // A push may carry only chunks (the first part of a large upload) and no changes.
  changes: z.array(pushedChangeSchema).max(MAX_PUSH_CHANGES),
});
export type PushHeader = z.infer<typeof pushHeaderSchema>;

/** A push as it travels: a large file's chunk list may be an edit of the hub's version. */
export const wirePushHeaderSchema = pushHeaderSchema.extend({
  changes: z.array(pushedChangeSchema.extend({ content: wireContentSchema })).max(MAX_PUSH_CHANGES),
});
export type WirePushHeader = z.infer<typeof wirePushHeaderSchema>;

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

/**
 * A workspace's epoch: it changes when the hub's sequence numbers stop meaning what agents
 * remember (new data folder, restored backup), and agents then read the workspace from zero.
 * Empty while the workspace has no commit.
 */
const epochSchema = z.string().max(64);

export const changesResponseSchema = z.object({
  head: z.number(),
  epoch: epochSchema,
  entries: z.array(manifestEntrySchema),
  more: z.boolean(),
  /**
   * The newest tombstone the hub dropped after retention (see expired-tombstones.ts): a page read
   * from below it may lack deletions, so the agent reads the whole manifest instead. Absent from
   * hubs that never drop tombstones.
   */
  floor: z.number().int().nonnegative().optional(),
});
export type ChangesResponse = z.infer<typeof changesResponseSchema>;

/** An entry of a catch-up page that cannot be read, with what of it could be. */
export interface UnreadableEntry {
  seq?: number;
  path?: string;
  /** The first thing wrong with it. */
  message: string;
}

/** What can be read of an unreadable entry: a path only when it passes the path rules. */
const entryLeadSchema = z.object({
  seq: z.number().int().positive().optional().catch(undefined),
  path: relativePathSchema.optional().catch(undefined),
});

/**
 * A catch-up page as an agent reads it: entry by entry, so that one it cannot read (stored by a
 * hub with other bounds, or damaged in its database) is set aside and reported on its own.
 * Refusing the whole page instead left the agent reading that page again for ever, so no later
 * change of the workspace ever reached it.
 */
export const agentChangesSchema = changesResponseSchema
  .extend({ entries: z.array(z.unknown()) })
  .transform((page) => {
    const entries: z.infer<typeof manifestEntrySchema>[] = [];
    const unreadable: UnreadableEntry[] = [];
    for (const value of page.entries) {
      const entry = manifestEntrySchema.safeParse(value);
      if (entry.success) {
        entries.push(entry.data);
        continue;
      }
      const lead = entryLeadSchema.safeParse(value);
      const issue = entry.error.issues[0];
      unreadable.push({
        ...(lead.success ? lead.data : {}),
        message: issue ? `${issue.path.join('.') || 'entry'}: ${issue.message}` : 'not an entry',
      });
    }
    return { ...page, entries, unreadable };
  });
export type AgentChangesPage = z.infer<typeof agentChangesSchema>;

export const missingRequestSchema = z.object({ hashes: z.array(sha256).max(MAX_MISSING_HASHES) });
export const missingResponseSchema = z.object({ missing: z.array(sha256) });
export const fetchRequestSchema = z.object({
  want: z
    .array(z.object({ hash: sha256, base: sha256.optional() }))
    .min(1)
    .max(MAX_FETCH_WANT),
});
/** Header of a fetch reply envelope; the frames follow, and chunks in neither are asked for again. */
export const fetchReplyHeaderSchema = z.object({ missing: z.array(sha256) });

/** Every refusal from the hub (4xx, 5xx): a stable code and one sentence for the user. */
export const hubErrorSchema = z.object({ error: z.string(), message: z.string() });

/** Chunk hashes in one `wanted` message: enough for a large file's worth of lost chunks. */
export const WANTED_HASHES_MAX = 1000;

/**
 * A W3C trace context (`version-traceid-parentid-flags`, lower-case hex), as `--otlp` tracing
 * passes it from one process to the next. One that does not parse is dropped, never the message
 * that carries it: tracing must not cost a notification.
 */
export const traceparentSchema = z
  .string()
  .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
  .optional()
  .catch(undefined);

/** Hub -> agent over the live WebSocket. Binary messages are envelopes with an `entries` header. */
export const liveHeaderSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), head: z.number(), epoch: epochSchema.optional() }),
  z.object({
    type: z.literal('entries'),
    from: z.number(),
    to: z.number(),
    origin: z.string(),
    batch: z.enum(['edits', 'branch-switch']),
    entries: z.array(manifestEntrySchema),
    /** The hub's fan-out span, when it traces: peers make their apply span its child. */
    trace: traceparentSchema,
  }),
  /**
   * Chunks another agent of the workspace could not get (lost or damaged on the hub): an agent
   * whose files hold them uploads them again.
   */
  z.object({ type: z.literal('wanted'), hashes: z.array(sha256).max(WANTED_HASHES_MAX) }),
]);
export type LiveHeader = z.infer<typeof liveHeaderSchema>;

/**
 * A live message as it travels: an entry's chunk list may be an edit of the path's version before
 * it (see core/chunk-edit.ts); the agent expands it against the version it holds.
 */
export const wireLiveHeaderSchema = z.discriminatedUnion('type', [
  liveHeaderSchema.options[0],
  liveHeaderSchema.options[1].extend({
    entries: z.array(manifestEntrySchema.extend({ content: wireContentSchema })),
  }),
  liveHeaderSchema.options[2],
]);
export type WireLiveHeader = z.infer<typeof wireLiveHeaderSchema>;

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

/**
 * `schema.safeParse` for a value that came over the network, which never throws. zod's length
 * checks (`.max`, `.min` on arrays and strings) also run on a value of the wrong type when it has
 * a `length` key, and compare that key to the bound: a JSON `{"length": {"toString": 1}}` makes
 * the comparison throw a TypeError out of `safeParse`, which the hub would answer 500 (or, on the
 * live socket, die of). A value that makes the parser throw is malformed, and fails like one.
 */
export function safeParseUntrusted<T extends z.ZodType>(
  schema: T,
  value: unknown,
): z.ZodSafeParseResult<z.infer<T>> {
  try {
    return schema.safeParse(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      success: false,
      error: new z.ZodError([
        { code: 'custom', path: [], input: value, message: `unreadable value (${reason})` },
      ]) as z.ZodError<z.infer<T>>,
    };
  }
}

/** Formats a zod error as one line for a 400 reply or a CLI message. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
