import { describe, expect, test } from 'bun:test';
import { type FlushProgress, judgeFlush } from '../../src/core/flush.ts';

describe('judgeFlush', () => {
  const progress = (p: Partial<FlushProgress> = {}): FlushProgress => ({
    head: 10,
    cursor: 10,
    waitingRemote: 0,
    scannedSinceRequest: true,
    unsynced: [],
    paused: false,
    halted: undefined,
    ...p,
  });
  const refused = { path: 'readme.md', code: 'case-collision', message: 'README.md exists' };
  const cases: Array<[string, FlushProgress, 'done' | 'wait' | 'fail']> = [
    ['cursor at the head after a scan is done', progress(), 'done'],
    ['cursor past the head is done (later changes do not matter)', progress({ cursor: 12 }), 'done'],
    ['no full cycle since the request yet waits', progress({ scannedSinceRequest: false }), 'wait'],
    ['cursor below the noted head waits', progress({ cursor: 9 }), 'wait'],
    ['a remote version not yet written waits', progress({ waitingRemote: 1 }), 'wait'],
    ['a change the hub refused fails', progress({ unsynced: [refused] }), 'fail'],
    ['a paused agent fails', progress({ paused: true }), 'fail'],
    ['held deletions fail', progress({ halted: 'it would delete everything' }), 'fail'],
  ];
  for (const [name, p, expected] of cases) test(name, () => expect(judgeFlush(p).type).toBe(expected));

  test('a failure names each unsynced path and its reason', () => {
    const verdict = judgeFlush(progress({ unsynced: [refused] }));
    expect(verdict.type === 'fail' && verdict.reason).toContain('readme.md (case-collision');
  });
});
