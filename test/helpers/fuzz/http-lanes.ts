/**
 * The fuzzer's HTTP lanes: damaged push envelopes, catch-up pages with fuzzed queries, chunk
 * queries and snapshots with fuzzed JSON, status and every other route with fuzzed methods,
 * headers and credentials. What the hub answers 200 must be what an agent can read.
 */
import type { z } from 'zod';
import { decodeEnvelope } from '../../../src/core/frames.ts';
import { sha256Hex } from '../../../src/core/hash.ts';
import {
  changesResponseSchema,
  describeZodError,
  fetchReplyHeaderSchema,
  missingResponseSchema,
  pushResponseSchema,
  statusSchema,
} from '../../../src/core/protocol.ts';
import {
  changesQuery,
  decodedSegment,
  fetchBody,
  missingBody,
  randomHash,
  snapshotBody,
  workspaceSegment,
} from './json-cases.ts';
import { caller, type FuzzContext, lane, laneRandom } from './lane.ts';
import type { Sent } from './ledger.ts';
import { PushCases } from './push-cases.ts';

/** Write routes never name the witness workspace (Hono decodes the segment). */
const writable = (ctx: FuzzContext, segment: string) =>
  decodedSegment(segment) === ctx.witness ? ctx.fuzz : segment;

/** Damaged push envelopes, until `frames` frames have gone; answers must be what agents read. */
export function pushLane(ctx: FuzzContext, frames: number): Promise<void> {
  const { ledger } = ctx;
  const call = caller(ctx);
  const rng = laneRandom(ctx.seed, 'push');
  const cases = new PushCases(rng, ctx.agents, ctx.known);
  let sentFrames = 0;
  return lane(
    'push',
    3,
    () => sentFrames < frames,
    async (index) => {
      const item = cases.next();
      sentFrames += item.frames;
      const segment = writable(ctx, workspaceSegment(rng, ctx.fuzz));
      const how = `${segment}, ${item.body.length} bytes: ${item.how}`;
      const sent: Sent = { endpoint: 'POST /push', index, how };
      const response = await call(`/v1/workspaces/${segment}/push`, { method: 'POST', body: item.body });
      const text = await ledger.reply(sent, item.frames, response);
      ledger.note(`push ${item.how.split(' ')[0]} ${response.status}`);
      if (response.status !== 200) return;
      const answer = pushResponseSchema.safeParse(JSON.parse(text));
      if (!answer.success)
        return ledger.fail('readable', sent, `a push answer agents cannot read: ${answer.error.message}`);
      ledger.note('push missingChunks listed', answer.data.missingChunks.length);
      for (const r of answer.data.results) {
        ledger.note(`push result ${r.status === 'rejected' ? `rejected ${r.code.split(':')[0]}` : r.status}`);
        if (r.status === 'accepted' || r.status === 'conflict') ctx.touch(decodedSegment(segment), r.path);
        if (r.status === 'conflict' && r.copyPath) ctx.touch(decodedSegment(segment), r.copyPath);
      }
    },
  );
}

/** What an agent's schema refuses in a catch-up page, and the entry it refuses. */
export function unreadablePage(error: z.ZodError, value: unknown): string {
  const index = error.issues[0]?.path[1];
  const entry = typeof index === 'number' ? (value as { entries: unknown[] }).entries[index] : undefined;
  return `${describeZodError(error)} in ${JSON.stringify(entry)?.slice(0, 300)}`;
}

/** Catch-up pages of both workspaces with fuzzed query strings. */
export function changesLane(ctx: FuzzContext, requests: number): Promise<void> {
  const { ledger } = ctx;
  const call = caller(ctx);
  const rng = laneRandom(ctx.seed, 'changes');
  const readable = new Set<string>();
  return lane(
    'changes',
    2,
    (i) => i < requests,
    async (index) => {
      let segment = workspaceSegment(rng, rng.chance(0.5) ? ctx.witness : ctx.fuzz);
      let query = changesQuery(rng, ctx.witnessHead);
      // A read past the head renews the workspace's epoch (by design): not on the witness.
      const since = Number(new URLSearchParams(query).get('since') ?? '0');
      if (decodedSegment(segment) === ctx.witness && Number.isSafeInteger(since) && since > ctx.witnessHead)
        segment = ctx.fuzz;
      if (rng.chance(0.05)) query = `${query}&${'x'.repeat(rng.int(1, 9000))}`;
      const sent: Sent = { endpoint: 'GET /changes', index, how: `${segment}?${query.slice(0, 100)}` };
      const response = await call(`/v1/workspaces/${segment}/changes?${query}`, {
        headers: rng.chance(0.3) ? { 'accept-encoding': 'gzip' } : {},
      });
      const text = await ledger.reply(sent, 1, response);
      if (response.status !== 200) return;
      // Most pages repeat one read before (the manifest moves only with accepted pushes).
      const digest = sha256Hex(new TextEncoder().encode(text));
      if (readable.has(digest)) return;
      readable.add(digest);
      const page = changesResponseSchema.safeParse(JSON.parse(text));
      if (!page.success)
        ledger.fail(
          'readable',
          sent,
          `a catch-up page agents cannot read: ${unreadablePage(page.error, JSON.parse(text))}`,
        );
    },
  );
}

/** `/v1/chunks/missing` and `/v1/chunks/fetch`, alternately, with fuzzed JSON bodies. */
export function chunksLane(ctx: FuzzContext, requests: number): Promise<void> {
  const { ledger } = ctx;
  const call = caller(ctx);
  const rng = laneRandom(ctx.seed, 'chunks');
  return lane(
    'chunks',
    2,
    (i) => i < requests,
    async (index) => {
      const isFetch = index % 2 === 1;
      const item = isFetch ? fetchBody(rng, ctx.known) : missingBody(rng, ctx.known);
      const endpoint = isFetch ? 'POST /chunks/fetch' : 'POST /chunks/missing';
      const sent: Sent = { endpoint, index, how: `${item.body.length} bytes: ${item.how}` };
      const type = rng.pick(['application/json', 'text/plain', 'application/octet-stream', '']);
      const response = await call(isFetch ? '/v1/chunks/fetch' : '/v1/chunks/missing', {
        method: 'POST',
        body: item.body,
        headers: type ? { 'content-type': type } : {},
      });
      if (isFetch && response.status === 200) {
        const bytes = new Uint8Array(await response.arrayBuffer());
        ledger.count(endpoint, 1, 200);
        try {
          if (!fetchReplyHeaderSchema.safeParse(decodeEnvelope(bytes).header).success)
            ledger.fail('readable', sent, 'a fetch reply header agents cannot read');
        } catch (error) {
          ledger.fail('readable', sent, `a fetch reply agents cannot decode: ${error}`);
        }
        return;
      }
      const text = await ledger.reply(sent, 1, response);
      if (!isFetch && response.status === 200 && !missingResponseSchema.safeParse(JSON.parse(text)).success)
        ledger.fail('readable', sent, 'a missing-chunks answer agents cannot read');
    },
  );
}

/** Snapshot uploads (never to the witness) and downloads (of both), with fuzzed keys and bodies. */
export function snapshotsLane(ctx: FuzzContext, requests: number): Promise<void> {
  const { ledger } = ctx;
  const call = caller(ctx);
  const rng = laneRandom(ctx.seed, 'snapshots');
  return lane(
    'snapshots',
    2,
    (i) => i < requests,
    async (index) => {
      const lockHash = rng.chance(0.5) ? ctx.witnessLock : randomHash(rng);
      const key = rng.pick([
        lockHash,
        lockHash,
        lockHash.toUpperCase(),
        lockHash.slice(1),
        `${lockHash}0`,
        '',
        '%2e',
      ]);
      if (rng.chance(0.6)) {
        const segment = writable(ctx, workspaceSegment(rng, ctx.fuzz));
        const item = snapshotBody(rng, ctx.known, lockHash);
        const sent: Sent = {
          endpoint: 'PUT /snapshots',
          index,
          how: `${segment}/${key.slice(0, 8)}, ${item.body.length} bytes: ${item.how}`,
        };
        const path = `/v1/workspaces/${segment}/snapshots/${key}`;
        await ledger.reply(sent, 1, await call(path, { method: 'PUT', body: item.body }));
        return;
      }
      const segment = workspaceSegment(rng, rng.chance(0.5) ? ctx.witness : ctx.fuzz);
      const sent: Sent = { endpoint: 'GET /snapshots', index, how: `${segment}/${key.slice(0, 8)}` };
      const response = await call(`/v1/workspaces/${segment}/snapshots/${key}`);
      const text = await ledger.reply(sent, 1, response);
      if (response.status !== 200) return;
      try {
        JSON.parse(text);
      } catch {
        ledger.fail('readable', sent, 'a snapshot that is not JSON');
      }
    },
  );
}

/** `/v1/status` with fuzzed queries, then other routes and methods with fuzzed headers and credentials. */
export function routesLane(ctx: FuzzContext, status: number, others: number): Promise<void> {
  const { ledger, fuzz, token } = ctx;
  const call = caller(ctx);
  const rng = laneRandom(ctx.seed, 'routes');
  return lane(
    'routes',
    2,
    (i) => i < status + others,
    async (index) => {
      if (index < status) {
        const query = rng.pick([
          '',
          '?x=1',
          `?${'%'.repeat(rng.int(1, 5))}`,
          `?workspace=${ctx.witness}`,
          '?a[]=b&a=c',
        ]);
        const sent: Sent = { endpoint: 'GET /status', index, how: query };
        const response = await call(`/v1/status${query}`);
        const text = await ledger.reply(sent, 1, response);
        if (response.status === 200 && !statusSchema.safeParse(JSON.parse(text)).success)
          ledger.fail('readable', sent, 'a status agents cannot read');
        return;
      }
      const agent = rng.pick([
        '0a1b2c3d',
        '',
        'ABCDEF12',
        '0a1b2c3',
        'g'.repeat(16),
        '__proto__',
        '0'.repeat(33),
      ]);
      const [method, path] = rng.pick<[string, string]>([
        ['GET', `/v1/workspaces/${fuzz}/live?agent=${agent}`],
        ['GET', `/v1/workspaces/${workspaceSegment(rng, fuzz)}/live?agent=${agent}`],
        ['POST', `/v1/workspaces/${fuzz}/live?agent=${agent}`],
        ['GET', `/v1/workspaces/${fuzz}/push`],
        ['PUT', `/v1/workspaces/${fuzz}/push`],
        ['DELETE', `/v1/workspaces/${fuzz}/changes`],
        ['POST', '/v1/status'],
        ['GET', '/v1/chunks/fetch'],
        ['GET', '/v1/nothing'],
        ['GET', `/v1/workspaces/${fuzz}`],
        ['PATCH', `/v1/workspaces/${fuzz}/snapshots/${'a'.repeat(64)}`],
        ['GET', '/metrics'],
        ['GET', '/healthz'],
      ]);
      const headers = rng.pick<Record<string, string>>([
        {},
        { upgrade: 'websocket', connection: 'Upgrade' },
        {
          upgrade: 'websocket',
          connection: 'Upgrade',
          'sec-websocket-key': 'x',
          'sec-websocket-version': '13',
        },
        { origin: 'https://evil.example' },
        { origin: ctx.url },
        { origin: 'null' },
        { 'content-type': 'application/json' },
      ]);
      const auth = rng.pick([
        `Bearer ${token}`,
        `Bearer ${token}`,
        '',
        'Bearer',
        `Bearer ${token}x`,
        token,
        `bearer ${token}`,
      ]);
      const sent: Sent = {
        endpoint: 'other routes',
        index,
        how: `${method} ${path} ${JSON.stringify(headers)} auth=${auth.slice(0, 10)}`,
      };
      const response = await fetch(`${ctx.url}${path}`, {
        method,
        headers: { ...headers, ...(auth ? { authorization: auth } : {}) },
        body: method === 'GET' ? undefined : '{}',
      });
      await ledger.reply(sent, 1, response);
    },
  );
}
