/** The live notification's optional trace context: carried when well-formed, dropped alone when not. */
import { describe, expect, it } from 'bun:test';
import { liveHeaderSchema } from '../../src/core/protocol.ts';

const entries = { type: 'entries', from: 1, to: 1, origin: 'aaaa0000', batch: 'edits', entries: [] };
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('live header trace', () => {
  it('is absent from a notification without one', () => {
    const parsed = liveHeaderSchema.parse(entries);
    expect(parsed.type === 'entries' && parsed.trace).toBeUndefined();
  });

  it('is kept when it is a W3C traceparent', () => {
    const parsed = liveHeaderSchema.parse({ ...entries, trace: traceparent });
    expect(parsed.type === 'entries' && parsed.trace).toBe(traceparent);
  });

  it.each([
    ['not hex', '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01'],
    ['too short', '00-0af7651916cd43dd-b7ad6b7169203331-01'],
    ['not a string', 42],
    ['an object', { traceparent }],
  ])('is dropped, and the notification kept, when %s', (_, trace) => {
    const parsed = liveHeaderSchema.safeParse({ ...entries, trace });
    expect(parsed.success).toBe(true);
    expect(parsed.data?.type === 'entries' && parsed.data.trace).toBeUndefined();
  });
});
