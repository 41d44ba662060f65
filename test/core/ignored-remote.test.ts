import { describe, expect, it } from 'bun:test';
import { DELETED, type EntryContent } from '../../src/core/entry.ts';
import { IgnoreRules } from '../../src/core/ignore.ts';
import { dropsIgnoredRemote } from '../../src/core/ignored-remote.ts';

const file = (hash: string): EntryContent => ({ kind: 'file', hash, size: 1, exec: false, chunks: [] });
const DIR: EntryContent = { kind: 'dir' };

describe('dropsIgnoredRemote', () => {
  const rules = new IgnoreRules(new Map([['', 'dist/\n*.log\n']]));
  const cases: [
    what: string,
    path: string,
    local: EntryContent,
    base: EntryContent | undefined,
    remote: EntryContent,
    drops: boolean,
  ][] = [
    ['a path no rule ignores', 'src/a.ts', file('mine'), undefined, file('theirs'), false],
    ['ignored, nothing here yet', 'dist/a.js', DELETED, undefined, file('r'), false],
    ['ignored folder, nothing here yet', 'dist', DELETED, undefined, DIR, false],
    ['ignored folder already made here', 'dist', DIR, undefined, DIR, false],
    ['ignored, the disk holds the last synced version', 'dist/a.js', file('b'), file('b'), file('r'), false],
    ['ignored deletion of the last synced version', 'dist/a.js', file('b'), file('b'), DELETED, false],
    ['ignored, the disk already holds the remote content', 'x.log', file('r'), undefined, file('r'), false],
    ['ignored, a local file that never synced', 'x.log', file('mine'), undefined, file('r'), true],
    ['ignored, a local edit of a synced file', 'dist/a.js', file('edited'), file('b'), file('r'), true],
    ['under node_modules, skipped by default', 'node_modules/x/i.js', DELETED, undefined, file('r'), true],
  ];
  for (const [what, path, local, base, remote, drops] of cases) {
    it(`${drops ? 'drops' : 'keeps'}: ${what}`, () => {
      expect(dropsIgnoredRemote(rules, path, local, base, remote)).toBe(drops);
    });
  }
});
