/**
 * The fuzzer's live lane: agent messages of every type (cursor, problems, wanted), damaged, over
 * several sockets of one workspace, and the check that the hub did with each what its schema
 * says: an error answer for each refused one, a relay for each `wanted`, the last cursor and
 * problems in its status.
 */
import { HUB_LIMITS } from '../../../src/core/limits.ts';
import { statusSchema } from '../../../src/core/protocol.ts';
import { waitUntil } from '../harness.ts';
import { liveMessage } from './json-cases.ts';
import { caller, type FuzzContext, lane, laneRandom } from './lane.ts';
import type { Sent } from './ledger.ts';
import { FuzzSocket } from './live-socket.ts';

/** Live sockets of the fuzzed workspace, each an agent id of its own. */
export async function openSockets(ctx: FuzzContext, count: number): Promise<FuzzSocket[]> {
  const sockets = Array.from({ length: count }, (_, i) => {
    const id = (0xf0000000 + i).toString(16);
    return new FuzzSocket(liveUrl(ctx, id), id, { authorization: `Bearer ${ctx.token}` });
  });
  const opened = await Promise.all(sockets.map((s) => s.opened));
  if (!opened.every(Boolean)) throw new Error('a live socket did not open');
  return sockets;
}

const liveUrl = (ctx: FuzzContext, agentId: string) =>
  `${ctx.url.replace('http', 'ws')}/v1/workspaces/${ctx.fuzz}/live?agent=${agentId}`;

/**
 * Agent messages of every type, damaged, over `sockets` in turn. A message past the size bound
 * goes on a socket of its own, which the hub must close (1009); one such message is always sent.
 */
export function liveLane(ctx: FuzzContext, sockets: readonly FuzzSocket[], messages: number): Promise<void> {
  const { ledger } = ctx;
  const rng = laneRandom(ctx.seed, 'live');
  const oversized = async (data: string | Uint8Array<ArrayBuffer>, sent: Sent) => {
    ledger.note('live oversized');
    const own = new FuzzSocket(liveUrl(ctx, 'e'.repeat(16)), 'e'.repeat(16), {
      authorization: `Bearer ${ctx.token}`,
    });
    await own.opened;
    own.send(data);
    await waitUntil(() => own.closed !== undefined, 'an oversized message to close its socket');
    if (own.closed?.code !== 1009)
      ledger.fail('live', sent, `closed ${JSON.stringify(own.closed)}, not 1009`);
  };
  return lane(
    'live',
    1,
    (i) => i < messages,
    async (index) => {
      const socket = sockets[index % sockets.length]!;
      const { data, how } = liveMessage(rng, ctx.known);
      const size = typeof data === 'string' ? new TextEncoder().encode(data).length : data.length;
      ledger.count(typeof data === 'string' ? 'live (text)' : 'live (binary)', 1);
      if (size > HUB_LIMITS.liveMessageBytes) return oversized(data, { endpoint: 'live', index, how });
      if (index === 0) {
        const padded = JSON.stringify({ type: 'cursor', cursor: 1, pending: 0, pad: '' });
        const fill = 'x'.repeat(HUB_LIMITS.liveMessageBytes - padded.length + 1);
        ledger.count('live (text)', 1);
        await oversized(padded.replace('"pad":""', `"pad":"${fill}"`), {
          endpoint: 'live',
          index,
          how: 'one byte over the bound',
        });
      }
      ledger.note(`live ${socket.send(data)?.type ?? 'refused'}`);
      if (index % 64 === 0) await socket.drain();
      // Let the hub and the other lanes run between bursts.
      if (index % 16 === 0) await new Promise((r) => setImmediate(r));
    },
  );
}

/**
 * After the live lane: every refused message was answered with an error and nothing else was,
 * every `wanted` with hashes reached each other socket, and the hub's status shows each socket's
 * last cursor, pending count and problems. Each socket then closes.
 */
export async function checkLive(ctx: FuzzContext, sockets: readonly FuzzSocket[]): Promise<void> {
  const { ledger } = ctx;
  const relaysTo = (socket: FuzzSocket) =>
    sockets.filter((s) => s !== socket).reduce((n, s) => n + s.expect.relayedOut, 0);
  for (const socket of sockets) {
    // One more message the hub must refuse: once its answer is in, every earlier one is too.
    socket.send('not json');
    await waitUntil(
      () => socket.errors >= socket.expect.errors && socket.wanted >= relaysTo(socket),
      `socket ${socket.agentId}: ${socket.expect.errors} error answers and ${relaysTo(socket)} relays`,
      30_000,
    ).catch(() => {});
  }
  // Time for any answer beyond the expected ones to arrive.
  await new Promise((r) => setTimeout(r, 200));
  const status = statusSchema.parse(await (await caller(ctx)('/v1/status')).json());
  const agents = status.workspaces.find((w) => w.name === ctx.fuzz)?.agents ?? [];
  for (const socket of sockets) {
    const sent: Sent = { endpoint: 'live', index: 0, how: socket.agentId };
    if (socket.closed) ledger.fail('live', sent, `socket closed: ${JSON.stringify(socket.closed)}`);
    if (socket.errors !== socket.expect.errors)
      ledger.fail('live', sent, `${socket.errors} error answers, expected ${socket.expect.errors}`);
    if (socket.wanted !== relaysTo(socket))
      ledger.fail('live', sent, `${socket.wanted} relayed wanted, expected ${relaysTo(socket)}`);
    for (const why of socket.unreadable.slice(0, 3))
      ledger.fail('readable', sent, `a notification agents cannot read: ${why}`);
    const seen = agents.find((a) => a.id === socket.agentId);
    const { cursor, pending, problems } = socket.expect;
    if (
      JSON.stringify([seen?.cursor, seen?.pending, seen?.problems]) !==
      JSON.stringify([cursor, pending, problems])
    )
      ledger.fail(
        'live',
        sent,
        `status shows cursor ${seen?.cursor}, pending ${seen?.pending}, ${seen?.problems.length} problems; expected ${cursor}, ${pending}, ${problems.length}`,
      );
    socket.socket.close();
  }
}
