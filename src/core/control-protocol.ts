/**
 * Messages on an agent's control socket (`control.sock` in its state folder): one JSON object per
 * line each way, one request and one answer per connection. Both sides parse with these schemas:
 * the socket is a trust boundary even though only the agent's own user can open it (mode 0600).
 */
import { z } from 'zod';
import { problemSchema } from './protocol.ts';

export const CONTROL_SOCKET_NAME = 'control.sock';
/** A request line longer than this is not a control request. */
export const CONTROL_LINE_MAX = 64 * 1024;

export const controlRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('status') }),
  z.object({ type: z.literal('flush'), timeoutMs: z.number().int().min(1).max(86_400_000) }),
  z.object({ type: z.literal('pause') }),
  z.object({ type: z.literal('resume'), allowDeletes: z.boolean() }),
  /** Paths relative to the folder; none: every local change the mode kept local. */
  z.object({ type: z.literal('revert'), paths: z.array(z.string().max(4096)).max(10_000) }),
]);
export type ControlRequest = z.infer<typeof controlRequestSchema>;

export const agentStatusSchema = z.object({
  dir: z.string(),
  workspace: z.string(),
  server: z.string(),
  agent: z.string(),
  /** The agent's sync mode (see core/sync-mode.ts). */
  mode: z.string().optional(),
  /** Concurrent edits merged three ways and pushed since the agent started. */
  merges: z.number().optional(),
  /** The large batch under way (an initial sync, a checkout): done of total, rate, time left. */
  progress: z
    .object({
      label: z.string(),
      filesTotal: z.number(),
      filesDone: z.number(),
      bytesTotal: z.number(),
      bytesDone: z.number(),
      bytesPerSecond: z.number(),
      filesPerSecond: z.number(),
      secondsLeft: z.number().optional(),
      startedMs: z.number(),
      line: z.string(),
    })
    .optional(),
  state: z.enum(['running', 'paused', 'halted']),
  /** Why deletions are held, while they are. */
  halted: z.string().optional(),
  cursor: z.number(),
  /** The highest hub sequence the agent has heard of. */
  headSeen: z.number(),
  /** Remote versions known but not on disk yet. */
  pendingRemote: z.number(),
  /** Local paths noted as changed and not yet looked at (pushed). */
  pendingLocal: z.number(),
  /** Each path not in sync, with why. */
  paths: z.array(problemSchema),
});
export type AgentStatus = z.infer<typeof agentStatusSchema>;

export const controlAnswerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('status'), status: agentStatusSchema }),
  z.object({ type: z.literal('flushed') }),
  z.object({ type: z.literal('paused') }),
  z.object({ type: z.literal('resumed'), deletesAllowed: z.number() }),
  z.object({ type: z.literal('reverted'), paths: z.array(z.string()) }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type ControlAnswer = z.infer<typeof controlAnswerSchema>;
