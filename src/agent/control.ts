/**
 * What the control socket's requests do to a running agent: status, flush, pause and resume.
 * The decisions (when a flush is done) live in core/flush.ts; this is the loop around them.
 */
import type { AgentStatus, ControlAnswer, ControlRequest } from '../core/control-protocol.ts';
import { judgeFlush } from '../core/flush.ts';
import type { Agent } from './agent.ts';

/** Pause between flush rounds while changes are still moving or the hub cannot be reached. */
const FLUSH_RETRY_MS = 100;

export interface ControlTarget {
  agent: Agent;
  workspace: string;
  server: string;
}

/** Answers one control request. */
export async function handleControl(target: ControlTarget, request: ControlRequest): Promise<ControlAnswer> {
  switch (request.type) {
    case 'status':
      return { type: 'status', status: status(target) };
    case 'flush':
      return flush(target.agent, request.timeoutMs);
    case 'pause':
      await target.agent.pause();
      return { type: 'paused' };
    case 'resume':
      return { type: 'resumed', deletesAllowed: await target.agent.resume(request.allowDeletes) };
    case 'revert':
      return { type: 'reverted', paths: await target.agent.revert(request.paths) };
  }
}

function status(target: ControlTarget): AgentStatus {
  return { ...target.agent.localStatus(), workspace: target.workspace, server: target.server };
}

/**
 * Notes the hub's head, then runs full rounds (catch up, scan everything, push, apply) until
 * `judgeFlush` says done or failed, or the time is up. A round that fails (the hub down) is
 * retried until the deadline; its error is the reason given on timeout.
 */
async function flush(agent: Agent, timeoutMs: number): Promise<ControlAnswer> {
  const deadline = Date.now() + timeoutMs;
  let head: number | undefined;
  let lastError: string | undefined;
  let rounds = 0;
  const early = agent.flushProgress(0, false);
  if (early.paused) return failure('paused', judgeFlush(early));
  while (Date.now() < deadline) {
    try {
      await beforeDeadline(
        (async () => {
          head ??= await agent.hubHead();
          await agent.fullRound();
        })(),
        deadline,
      );
      rounds++;
      lastError = undefined;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (head !== undefined && rounds > 0) {
      const verdict = judgeFlush(agent.flushProgress(head, true));
      if (verdict.type === 'done') return { type: 'flushed' };
      if (verdict.type === 'fail') return failure('not-synced', verdict);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(FLUSH_RETRY_MS, deadline - Date.now()))));
  }
  const seconds = Math.round(timeoutMs / 100) / 10;
  return {
    type: 'error',
    code: 'timeout',
    message: `not in sync after ${seconds} s: ${lastError ?? 'changes were still moving'}`,
  };
}

function failure(code: string, verdict: ReturnType<typeof judgeFlush>): ControlAnswer {
  return { type: 'error', code, message: verdict.type === 'fail' ? verdict.reason : code };
}

/** Rejects at the deadline; the work itself goes on (it runs in the agent's queue) and ends on its own. */
function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the time was up during a sync round')), deadline - Date.now());
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
