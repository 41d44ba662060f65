import { describe, expect, it } from 'bun:test';
import type { z } from 'zod';
import {
  agentIdSchema,
  agentMessageSchema,
  changesResponseSchema,
  contentSchema,
  describeZodError,
  fetchRequestSchema,
  liveHeaderSchema,
  manifestEntrySchema,
  missingRequestSchema,
  pushHeaderSchema,
  pushResponseSchema,
  relativePathSchema,
  safeParseUntrusted,
  vectorSchema,
  workspaceNameSchema,
} from '../../src/core/protocol.ts';

const HASH = 'ab'.repeat(32);
const FILE = {
  kind: 'file' as const,
  hash: HASH,
  size: 3,
  exec: false,
  chunks: [[HASH, 3]] as [string, number][],
};
const CHANGE = { path: 'src/app.ts', content: FILE, vector: { '1a2b3c4d': 1 } };
const ENTRY = { ...CHANGE, seq: 1, agent: '1a2b3c4d' };

function accepts(schema: z.ZodType, value: unknown): boolean {
  return schema.safeParse(value).success;
}

describe('relativePathSchema', () => {
  const hostile = [
    '',
    '../x',
    'a/../../b',
    '/etc/passwd',
    'a//b',
    'a/',
    'a\\b',
    'C:x',
    'a\0b',
    'a\nb',
    `.warmsync-tmp-1`,
  ];
  for (const path of hostile) {
    it(`rejects ${JSON.stringify(path)}`, () => {
      expect(accepts(relativePathSchema, path)).toBe(false);
    });
  }

  it('reports the path rule that failed as the message', () => {
    const result = relativePathSchema.safeParse('../x');
    expect(result.success ? '' : result.error.issues[0]?.message).toBe("path has a '.' or '..' segment");
  });

  const good = ['a', 'src/app.ts', 'docs/café.md', '.github/ci.yml', '.git/config'];
  for (const path of good) {
    it(`accepts ${JSON.stringify(path)}${path.startsWith('.git/') ? ' (the server narrows .git itself)' : ''}`, () => {
      expect(accepts(relativePathSchema, path)).toBe(true);
    });
  }

  it('rejects a non-string', () => {
    expect(accepts(relativePathSchema, 42)).toBe(false);
  });
});

describe('contentSchema', () => {
  const rejected: [name: string, value: unknown][] = [
    ['an unknown kind', { kind: 'fifo' }],
    ['a missing kind', { hash: HASH }],
    ['an upper-case hash', { ...FILE, hash: HASH.toUpperCase() }],
    ['a 63-digit hash', { ...FILE, hash: HASH.slice(1) }],
    ['a non-hex hash', { ...FILE, hash: `${HASH.slice(1)}z` }],
    ['a bad chunk hash', { ...FILE, chunks: [['nope', 3]] }],
    ['a negative size', { ...FILE, size: -1 }],
    ['a fractional size', { ...FILE, size: 1.5 }],
    ['a negative chunk size', { ...FILE, chunks: [[HASH, -3]] }],
    ['a chunk that is not a pair', { ...FILE, chunks: [[HASH]] }],
    ['a non-boolean exec', { ...FILE, exec: 'yes' }],
    ['a file without chunks', { kind: 'file', hash: HASH, size: 0, exec: false }],
    ['an empty symlink target', { kind: 'symlink', target: '' }],
    ['a symlink target with NUL', { kind: 'symlink', target: 'a\0b' }],
    ['a symlink target over 4096 characters', { kind: 'symlink', target: 'x'.repeat(4097) }],
  ];
  for (const [name, value] of rejected) {
    it(`rejects ${name}`, () => {
      expect(accepts(contentSchema, value)).toBe(false);
    });
  }

  const accepted: [name: string, value: unknown][] = [
    ['a file', FILE],
    ['an empty file', { kind: 'file', hash: HASH, size: 0, exec: true, chunks: [] }],
    ['a folder', { kind: 'dir' }],
    ['a symlink', { kind: 'symlink', target: '../shared/config.json' }],
    ['a tombstone', { kind: 'deleted' }],
  ];
  for (const [name, value] of accepted) {
    it(`accepts ${name}`, () => {
      expect(accepts(contentSchema, value)).toBe(true);
    });
  }
});

describe('vectorSchema', () => {
  const cases: [name: string, value: unknown, ok: boolean][] = [
    ['an empty vector', {}, true],
    ['counters of several agents', { '0000000a': 1, '0000000b': 0, '~hub': 3 }, true],
    ['a negative counter', { '0000000a': -1 }, false],
    ['a fractional counter', { '0000000a': 1.5 }, false],
    ['a counter past 2^53 - 1', { '0000000a': 2 ** 53 }, false],
    ['a string counter', { '0000000a': '1' }, false],
    ['an id of 33 hex digits', { ['a'.repeat(33)]: 1 }, false],
    ['an id that is not an agent id', { laptop: 1 }, false],
    // Names every object inherits: stored as keys they would read back as functions or vanish.
    ['the id constructor', { constructor: 1 }, false],
    ['the id __proto__', JSON.parse('{"__proto__": 1}'), false],
    ['the id toString', { toString: 1 }, false],
    ['an array', [1, 2], false],
  ];
  for (const [name, value, ok] of cases) {
    it(`${ok ? 'accepts' : 'rejects'} ${name}`, () => {
      expect(accepts(vectorSchema, value)).toBe(ok);
    });
  }
});

describe('agentIdSchema and workspaceNameSchema', () => {
  const cases: [name: string, schema: z.ZodType, value: string, ok: boolean][] = [
    ['an agent id as agents make them', agentIdSchema, '9f86d081', true],
    ['an agent id of 32 hex digits', agentIdSchema, 'a'.repeat(32), true],
    ['an agent id of 33 hex digits', agentIdSchema, 'a'.repeat(33), false],
    ['an agent id of 7 hex digits', agentIdSchema, 'a'.repeat(7), false],
    ['an agent id with upper case', agentIdSchema, '9F86D081', false],
    ['an agent id that is a word', agentIdSchema, 'constructor', false],
    ['an agent id with a slash', agentIdSchema, 'a/b', false],
    ['an empty agent id', agentIdSchema, '', false],
    ['a workspace name', workspaceNameSchema, 'My_Project.v2', true],
    ['a workspace name of 64 characters', workspaceNameSchema, 'w'.repeat(64), true],
    ['a workspace name of 65 characters', workspaceNameSchema, 'w'.repeat(65), false],
    ['a workspace name starting with a dot', workspaceNameSchema, '.hidden', false],
    ['a workspace name that climbs', workspaceNameSchema, '..', false],
    ['a workspace name with a slash', workspaceNameSchema, 'a/b', false],
  ];
  for (const [name, schema, value, ok] of cases) {
    it(`${ok ? 'accepts' : 'rejects'} ${name}`, () => {
      expect(accepts(schema, value)).toBe(ok);
    });
  }
});

describe('pushHeaderSchema', () => {
  it('accepts a push and defaults its batch to edits', () => {
    expect(pushHeaderSchema.parse({ agent: '1a2b3c4d', changes: [CHANGE] })).toEqual({
      agent: '1a2b3c4d',
      batch: 'edits',
      changes: [CHANGE],
    });
  });

  it('accepts a push of chunks only, with no changes', () => {
    expect(accepts(pushHeaderSchema, { agent: '1a2b3c4d', changes: [] })).toBe(true);
  });

  const rejected: [name: string, value: unknown][] = [
    [
      'a change with a hostile path',
      { agent: '1a2b3c4d', changes: [{ ...CHANGE, path: '../../etc/passwd' }] },
    ],
    [
      'a change with a bad hash',
      { agent: '1a2b3c4d', changes: [{ ...CHANGE, content: { ...FILE, hash: 'x' } }] },
    ],
    [
      'a change with a negative size',
      { agent: '1a2b3c4d', changes: [{ ...CHANGE, content: { ...FILE, size: -1 } }] },
    ],
    [
      'a change of an unknown kind',
      { agent: '1a2b3c4d', changes: [{ ...CHANGE, content: { kind: 'socket' } }] },
    ],
    ['an unknown batch', { agent: '1a2b3c4d', batch: 'rebase', changes: [] }],
    ['a bad agent id', { agent: '1A2B3C4D', changes: [] }],
    ['a missing change list', { agent: '1a2b3c4d' }],
    ['over 50,000 changes', { agent: '1a2b3c4d', changes: Array.from({ length: 50_001 }, () => CHANGE) }],
  ];
  for (const [name, value] of rejected) {
    it(`rejects ${name}`, () => {
      expect(accepts(pushHeaderSchema, value)).toBe(false);
    });
  }
});

describe('request list limits', () => {
  const cases: [name: string, schema: z.ZodType, value: unknown, ok: boolean][] = [
    ['10,000 missing-chunk hashes', missingRequestSchema, { hashes: Array(10_000).fill(HASH) }, true],
    ['10,001 missing-chunk hashes', missingRequestSchema, { hashes: Array(10_001).fill(HASH) }, false],
    ['a bad missing-chunk hash', missingRequestSchema, { hashes: ['00'] }, false],
    ['a fetch of one chunk against a base', fetchRequestSchema, { want: [{ hash: HASH, base: HASH }] }, true],
    ['a fetch of nothing', fetchRequestSchema, { want: [] }, false],
    ['a fetch of 10,000 chunks', fetchRequestSchema, { want: Array(10_000).fill({ hash: HASH }) }, true],
    ['a fetch of 10,001 chunks', fetchRequestSchema, { want: Array(10_001).fill({ hash: HASH }) }, false],
    ['a fetch with a bad base hash', fetchRequestSchema, { want: [{ hash: HASH, base: 'zz' }] }, false],
  ];
  for (const [name, schema, value, ok] of cases) {
    it(`${ok ? 'accepts' : 'rejects'} ${name}`, () => {
      expect(accepts(schema, value)).toBe(ok);
    });
  }
});

describe('agentMessageSchema', () => {
  const problem = { path: 'a.txt', code: 'unreadable', message: 'permission denied' };
  const cases: [name: string, value: unknown, ok: boolean][] = [
    ['a cursor', { type: 'cursor', cursor: 10, pending: 0 }, true],
    ['a negative cursor', { type: 'cursor', cursor: -1, pending: 0 }, false],
    ['a fractional pending count', { type: 'cursor', cursor: 1, pending: 0.5 }, false],
    ['1,000 problems', { type: 'problems', problems: Array(1000).fill(problem) }, true],
    ['1,001 problems', { type: 'problems', problems: Array(1001).fill(problem) }, false],
    [
      'a problem message over 500 characters',
      { type: 'problems', problems: [{ ...problem, message: 'x'.repeat(501) }] },
      false,
    ],
    ['an unknown type', { type: 'shutdown' }, false],
  ];
  for (const [name, value, ok] of cases) {
    it(`${ok ? 'accepts' : 'rejects'} ${name}`, () => {
      expect(accepts(agentMessageSchema, value)).toBe(ok);
    });
  }
});

describe('hub replies', () => {
  const cases: [name: string, schema: z.ZodType, value: unknown, ok: boolean][] = [
    ['a manifest entry', manifestEntrySchema, ENTRY, true],
    ['a manifest entry with seq 0', manifestEntrySchema, { ...ENTRY, seq: 0 }, false],
    ['a manifest entry with a hostile path', manifestEntrySchema, { ...ENTRY, path: '/etc/shadow' }, false],
    [
      'a changes page',
      changesResponseSchema,
      { head: 3, epoch: 'c0ffee', entries: [ENTRY], more: false },
      true,
    ],
    [
      'a push response',
      pushResponseSchema,
      {
        head: 4,
        results: [
          { status: 'accepted', path: 'a', seq: 4, vector: { '1a2b3c4d': 1 } },
          { status: 'unchanged', path: 'b' },
          {
            status: 'conflict',
            path: 'c',
            seq: 4,
            copyPath: 'c.conflict-x-00000000',
            reason: 'first-to-hub-wins',
          },
          { status: 'rejected', path: '..', code: 'dot-segment', message: 'no' },
        ],
        missingChunks: [HASH],
      },
      true,
    ],
    [
      'a push result of unknown status',
      pushResponseSchema,
      { head: 1, results: [{ status: 'maybe', path: 'a' }], missingChunks: [] },
      false,
    ],
    ['a live hello', liveHeaderSchema, { type: 'hello', head: 0 }, true],
    [
      'live entries',
      liveHeaderSchema,
      { type: 'entries', from: 1, to: 2, origin: '1a2b3c4d', batch: 'branch-switch', entries: [ENTRY] },
      true,
    ],
    [
      'live entries with a hostile path',
      liveHeaderSchema,
      {
        type: 'entries',
        from: 1,
        to: 2,
        origin: '1a2b3c4d',
        batch: 'edits',
        entries: [{ ...ENTRY, path: 'a/../../x' }],
      },
      false,
    ],
    ['a live message of unknown type', liveHeaderSchema, { type: 'bye' }, false],
  ];
  for (const [name, schema, value, ok] of cases) {
    it(`${ok ? 'accepts' : 'rejects'} ${name}`, () => {
      expect(accepts(schema, value)).toBe(ok);
    });
  }
});

describe('safeParseUntrusted', () => {
  // A `length` whose own toString is no function: comparing it to a bound throws in zod.
  const hostile = JSON.parse('{"length": {"toString": 1}}') as unknown;
  const cases: Array<[name: string, schema: z.ZodType, value: unknown]> = [
    ['a push whose changes are no array', pushHeaderSchema, { agent: '1a2b3c4d', changes: hostile }],
    [
      'a push whose branch is no string',
      pushHeaderSchema,
      { agent: '1a2b3c4d', branch: hostile, changes: [] },
    ],
    ['a missing-chunks request', missingRequestSchema, { hashes: hostile }],
    ['a fetch request', fetchRequestSchema, { want: hostile }],
    ['a problems message', agentMessageSchema, { type: 'problems', problems: hostile }],
    ['a wanted message', agentMessageSchema, { type: 'wanted', hashes: hostile }],
  ];
  for (const [name, schema, value] of cases) {
    it(`fails, without throwing, on ${name} with a hostile length`, () => {
      const result = safeParseUntrusted(schema, value);
      expect(result.success).toBe(false);
      expect(describeZodError(result.error!)).toBeString();
    });
  }

  it('parses what safeParse parses', () => {
    expect(safeParseUntrusted(agentMessageSchema, { type: 'cursor', cursor: 3, pending: 0 }).data).toEqual({
      type: 'cursor',
      cursor: 3,
      pending: 0,
    });
  });
});

describe('describeZodError', () => {
  it('names the path of each issue and its message', () => {
    const result = pushHeaderSchema.safeParse({ agent: '1a2b3c4d', changes: [{ ...CHANGE, path: '../x' }] });
    expect(result.success ? '' : describeZodError(result.error)).toBe(
      "changes.0.path: path has a '.' or '..' segment",
    );
  });

  it("names an issue at the top level '(root)'", () => {
    const result = contentSchema.safeParse('nope');
    expect(result.success ? '' : describeZodError(result.error)).toStartWith('(root): ');
  });

  it('lists at most three issues', () => {
    const result = pushHeaderSchema.safeParse({
      agent: '1a2b3c4d',
      changes: Array.from({ length: 5 }, () => ({ ...CHANGE, path: '../x' })),
    });
    expect(result.success ? -1 : describeZodError(result.error).split('; ').length).toBe(3);
  });
});
