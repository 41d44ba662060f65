/**
 * Version counters near the largest exact JSON number: the hub raises its own counter when it
 * settles a conflict, so a pushed counter at the top made it store one that no agent could read,
 * and every catch-up page holding it was refused. Such a change is refused on its own now.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { encodeEnvelope } from '../../src/core/frames.ts';
import { changesResponseSchema } from '../../src/core/protocol.ts';
import { HUB_ID } from '../../src/core/resolve.ts';
import { MAX_PUSHED_COUNTER } from '../../src/core/vector.ts';
import { fileChange } from '../helpers/file-change.ts';
import { cleanup, startHub } from '../helpers/harness.ts';

afterEach(cleanup);

const FIRST = 'a1a1a1a1';
const SECOND = 'b2b2b2b2';

/** Pushes `first` as one agent, then `second` as another; the second push's one result. */
async function pushPair(
  url: string,
  first: ReturnType<typeof fileChange>,
  second: ReturnType<typeof fileChange>,
): Promise<{ status: string; code?: string }> {
  const push = (agent: string, c: ReturnType<typeof fileChange>) =>
    fetch(`${url}/v1/workspaces/test/push`, {
      method: 'POST',
      body: encodeEnvelope({ agent, changes: [c.change] }, [c.frame]),
    });
  expect((await push(FIRST, first)).status).toBe(200);
  const reply = await push(SECOND, second);
  expect(reply.status).toBe(200);
  return ((await reply.json()) as { results: Array<{ status: string; code?: string }> }).results[0]!;
}

/** The workspace's first catch-up page as an agent reads it. */
async function catchUp(url: string) {
  return changesResponseSchema.safeParse(
    await (await fetch(`${url}/v1/workspaces/test/changes?since=0`)).json(),
  );
}

describe('version counters at the bound', () => {
  const cases = [
    ['a change below a file, with the hub counter at the top', 'blk', 'blk/under'],
    ['a concurrent edit, with the hub counter at the top', 'c.txt', 'c.txt'],
  ] as const;
  for (const [name, firstPath, secondPath] of cases) {
    it(`refuses ${name}, and every page stays readable`, async () => {
      const hub = startHub();
      const result = await pushPair(
        hub.url,
        fileChange(firstPath, 'first', { [FIRST]: 1 }),
        fileChange(secondPath, 'second', { [HUB_ID]: Number.MAX_SAFE_INTEGER, [SECOND]: 1 }),
      );
      expect(result).toMatchObject({ status: 'rejected', code: 'counter-limit' });
      const page = await catchUp(hub.url);
      expect(page.success).toBe(true);
      expect(page.data?.entries.map((e) => e.path)).toEqual([firstPath]);
    });

    it(`settles ${name.replace('at the top', 'at the bound')}, readably`, async () => {
      const hub = startHub();
      const result = await pushPair(
        hub.url,
        fileChange(firstPath, 'first', { [FIRST]: 1 }),
        fileChange(secondPath, 'second', { [HUB_ID]: MAX_PUSHED_COUNTER, [SECOND]: 1 }),
      );
      expect(result.status).toBe('conflict');
      const page = await catchUp(hub.url);
      expect(page.success).toBe(true);
      expect(page.data?.entries.some((e) => e.vector[HUB_ID] === MAX_PUSHED_COUNTER + 1)).toBe(true);
    });
  }

  it("refuses another agent's counter set past the bound, which would leave that agent unable to count on", async () => {
    const hub = startHub();
    const result = await pushPair(
      hub.url,
      fileChange('d.txt', 'first', { [FIRST]: 1 }),
      fileChange('d.txt', 'second', { [FIRST]: MAX_PUSHED_COUNTER + 1, [SECOND]: 1 }),
    );
    expect(result).toMatchObject({ status: 'rejected', code: 'counter-limit' });
    expect((await catchUp(hub.url)).success).toBe(true);
  });
});
