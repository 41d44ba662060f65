import { describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AptSource,
  chooseDebianMirror,
  parseDeb822Sources,
  parseOneLineSources,
  readAptSources,
} from './debian-mirror.ts';

describe('parseOneLineSources', () => {
  const cases: [string, string, AptSource[]][] = [
    [
      'a plain deb line',
      'deb http://deb.debian.org/debian bookworm main',
      [{ uri: 'http://deb.debian.org/debian', suites: ['bookworm'] }],
    ],
    [
      'a line with options',
      'deb [arch=amd64 signed-by=/k.gpg] http://mirror/debian bookworm main',
      [{ uri: 'http://mirror/debian', suites: ['bookworm'] }],
    ],
    [
      'source lines and comments are skipped',
      '# deb http://x/debian sid main\ndeb-src http://x/debian sid main',
      [],
    ],
    [
      'a trailing comment',
      'deb http://x/debian bookworm main # local mirror',
      [{ uri: 'http://x/debian', suites: ['bookworm'] }],
    ],
  ];
  for (const [name, text, expected] of cases) {
    test(name, () => expect(parseOneLineSources(text)).toEqual(expected));
  }
});

describe('parseDeb822Sources', () => {
  test('reads every URI and suite of each deb stanza', () => {
    const text = [
      'Types: deb deb-src',
      'URIs: http://deb.debian.org/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      '',
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: bookworm-security',
    ].join('\n');
    expect(parseDeb822Sources(text)).toEqual([
      { uri: 'http://deb.debian.org/debian', suites: ['bookworm', 'bookworm-updates'] },
      { uri: 'http://deb.debian.org/debian-security', suites: ['bookworm-security'] },
    ]);
  });

  test('skips deb-src only and disabled stanzas', () => {
    const text =
      'Types: deb-src\nURIs: http://a/debian\nSuites: sid\n\nTypes: deb\nURIs: http://b\nSuites: x\nEnabled: no\n';
    expect(parseDeb822Sources(text)).toEqual([]);
  });
});

describe('chooseDebianMirror', () => {
  const sources: AptSource[] = [
    { uri: 'http://security/debian-security', suites: ['bookworm-security'] },
    { uri: 'http://old/debian', suites: ['bullseye'] },
    { uri: 'http://main/debian', suites: ['bookworm', 'bookworm-updates'] },
  ];

  test("prefers the machine's own release", () => {
    expect(chooseDebianMirror(sources, 'bookworm')).toEqual({
      mirror: 'http://main/debian',
      suite: 'bookworm',
    });
  });

  test('falls back to the first release suite, never a pocket', () => {
    expect(chooseDebianMirror(sources, 'trixie')).toEqual({ mirror: 'http://old/debian', suite: 'bullseye' });
  });

  test('finds nothing without a release suite', () => {
    expect(chooseDebianMirror([sources[0]!])).toBeUndefined();
  });
});

describe('readAptSources', () => {
  test('reads sources.list and the .list and .sources files beside it, ignoring others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warmsync-apt-'));
    try {
      mkdirSync(join(dir, 'sources.list.d'));
      writeFileSync(join(dir, 'sources.list'), 'deb http://a/debian bookworm main\n');
      writeFileSync(join(dir, 'sources.list.d/b.list'), 'deb http://b/debian bookworm main\n');
      writeFileSync(
        join(dir, 'sources.list.d/c.sources'),
        'Types: deb\nURIs: http://c/debian\nSuites: bookworm\n',
      );
      writeFileSync(join(dir, 'sources.list.d/d.list.disabled'), 'deb http://d/debian bookworm main\n');
      expect(readAptSources(dir).map((source) => source.uri)).toEqual([
        'http://a/debian',
        'http://b/debian',
        'http://c/debian',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
