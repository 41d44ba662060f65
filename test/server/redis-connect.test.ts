import { describe, expect, it } from 'bun:test';
import { describeRedisUrl, parseRedisUrl, RedisUrlError } from '../../src/server/redis-connect.ts';

describe('parseRedisUrl', () => {
  const table: [url: string, target: ReturnType<typeof parseRedisUrl>][] = [
    ['redis://127.0.0.1:6379', { kind: 'server', url: 'redis://127.0.0.1:6379' }],
    ['rediss://:pw@cache.example:6380/2', { kind: 'server', url: 'rediss://:pw@cache.example:6380/2' }],
    [
      'redis+cluster://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002',
      {
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
          { host: '10.0.0.3', port: 7002 },
        ],
      },
    ],
    [
      'redis+cluster://:s%40cret@[::1]:7000',
      { kind: 'cluster', nodes: [{ host: '::1', port: 7000 }], password: 's@cret' },
    ],
    [
      'redis+sentinel://s1:26379,s2:26379/mymaster',
      {
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
        ],
        master: 'mymaster',
      },
    ],
  ];
  for (const [url, target] of table) it(`reads ${url}`, () => expect(parseRedisUrl(url)).toEqual(target));

  const refused: [url: string, says: string][] = [
    ['http://127.0.0.1:6379', 'must be one of'],
    ['redis+cluster://127.0.0.1', 'is not HOST:PORT'],
    ['redis+cluster://127.0.0.1:99999', 'is not HOST:PORT'],
    ['redis+cluster://127.0.0.1:7000/0', 'no database number'],
    ['redis+sentinel://127.0.0.1:26379', 'needs the master name'],
    ['redis+sentinel://127.0.0.1:26379/', 'needs the master name'],
  ];
  for (const [url, says] of refused)
    it(`refuses ${url}`, () => {
      expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
      expect(() => parseRedisUrl(url)).toThrow(says);
    });
});

describe('describeRedisUrl', () => {
  it('hides the password', () => {
    expect(describeRedisUrl('redis+cluster://:secret@h:1,h:2')).toBe('redis+cluster://:***@h:1,h:2');
    expect(describeRedisUrl('redis://user:secret@h:1')).toBe('redis://user:***@h:1');
    expect(describeRedisUrl('redis://h:1')).toBe('redis://h:1');
  });
});
