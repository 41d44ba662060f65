/**
 * A push is committed once: sent again under its push id (its answer was lost), it is answered
 * from the hub's record of the first commit, whatever the manifest holds by then.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { HubClient } from '../../src/agent/client.ts';
import { encodeEnvelope, type makeFrame } from '../../src/core/frames.ts';
import { changesResponseSchema, type PushHeader, pushResponseSchema } from '../../src/core/protocol.ts';
import { startAnswerDropper } from '../helpers/answer-dropper.ts';
import { fileChange } from '../helpers/file-change.ts';
import { cleanup, onCleanup, startHub } from '../helpers/harness.ts';

afterEach(cleanup);

const LAPTOP = '0a1b2c3d4e5f6071';
const CONTAINER = '8899aabbccddeeff';

async function pushRaw(url: string, header: PushHeader, frames: ReturnType<typeof makeFrame>[]) {
  const reply = await fetch(`${url}/v1/workspaces/test/push`, {
    method: 'POST',
    body: encodeEnvelope(header, frames),
  });
  expect(reply.status).toBe(200);
  return pushResponseSchema.parse(await reply.json());
}

async function manifest(url: string) {
  const reply = await fetch(`${url}/v1/workspaces/test/changes?since=0`);
  return changesResponseSchema.parse(await reply.json());
}

describe('push ids', () => {
  it('answers a conflicting push sent again from its record, with no second conflict copy', async () => {
    const hub = startHub();
    const first = fileChange('notes.md', 'the laptop wrote this', { [LAPTOP]: 1 });
    await pushRaw(hub.url, { agent: LAPTOP, batch: 'edits', changes: [first.change] }, [first.frame]);
    const rival = fileChange('notes.md', 'the container wrote this', { [CONTAINER]: 1 });
    const header: PushHeader = {
      agent: CONTAINER,
      batch: 'edits',
      changes: [rival.change],
      pushId: 'f'.repeat(32),
    };

    const answer = await pushRaw(hub.url, header, [rival.frame]);
    expect(answer.results.map((r) => r.status)).toEqual(['conflict']);
    const after = await manifest(hub.url);
    const again = await pushRaw(hub.url, header, [rival.frame]);

    expect(again.results).toEqual(answer.results);
    expect(again.head).toBe(answer.head);
    expect(await manifest(hub.url)).toEqual(after);
    expect(after.entries.filter((e) => e.path.includes('.conflict-'))).toHaveLength(1);

    // The same change under a new id is a new push, and the hub settles it again.
    const fresh = await pushRaw(hub.url, { ...header, pushId: 'e'.repeat(32) }, [rival.frame]);
    expect(fresh.head).toBeGreaterThan(answer.head);
  });

  it('replays the refusals of the first answer with its results', async () => {
    const hub = startHub();
    const good = fileChange('ok.txt', 'fine', { [LAPTOP]: 1 });
    const bad = fileChange('.git/hooks/post-checkout', 'no', { [LAPTOP]: 2 });
    const header: PushHeader = {
      agent: LAPTOP,
      batch: 'edits',
      changes: [bad.change, good.change],
      pushId: '0123456789abcdef0123456789abcdef',
    };
    const answer = await pushRaw(hub.url, header, [good.frame, bad.frame]);
    expect(answer.results.map((r) => r.status)).toEqual(['rejected', 'accepted']);
    expect(await pushRaw(hub.url, header, [good.frame, bad.frame])).toEqual(answer);
  });

  it('refuses a push id that is not 32 hex digits', async () => {
    const hub = startHub();
    const { change, frame } = fileChange('a.txt', 'a', { [LAPTOP]: 1 });
    const reply = await fetch(`${hub.url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent: LAPTOP, batch: 'edits', changes: [change], pushId: 'x' }, [frame]),
    });
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { message: string }).message).toContain('push id');
  });

  it('lets a client whose answer was cut off send the push again and get the first answer', async () => {
    const hub = startHub();
    const proxy = await startAnswerDropper(hub.port);
    onCleanup(() => proxy.close());
    const client = new HubClient({ server: proxy.url, workspace: 'test', agentId: LAPTOP });
    const { change, frame } = fileChange('draft.md', 'once only', { [LAPTOP]: 1 });

    proxy.dropNextAnswers(1);
    const answer = await client.push({ agent: LAPTOP, batch: 'edits', changes: [change] }, [frame]);

    expect(proxy.dropped).toBe(1);
    expect(answer.results).toEqual([
      { status: 'accepted', path: 'draft.md', seq: 1, vector: { [LAPTOP]: 1 } },
    ]);
    const now = await manifest(hub.url);
    expect(now.head).toBe(1);
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/^warmsync_push_replays_total 1$/m);
  });
});
