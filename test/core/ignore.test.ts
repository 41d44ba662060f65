import { describe, expect, it } from 'bun:test';
import { DEFAULT_IGNORE_OPTIONS, IgnoreRules, retrackedPaths } from '../../src/core/ignore.ts';

type Probe = [path: string, isDir: boolean, ignored: boolean];

function rules(byFolder: Record<string, string>, tracked: string[] = []): IgnoreRules {
  return new IgnoreRules(new Map(Object.entries(byFolder)), new Set(tracked));
}

/** One `it` per probe: the path, whether it is a folder, and the expected verdict. */
function expectVerdicts(build: () => IgnoreRules, probes: Probe[]): void {
  for (const [path, isDir, ignored] of probes) {
    it(`${ignored ? 'ignores' : 'keeps'} ${isDir ? 'folder' : 'file'} '${path}'`, () => {
      expect(build().isIgnored(path, isDir)).toBe(ignored);
    });
  }
}

describe('IgnoreRules defaults', () => {
  expectVerdicts(
    () => rules({}),
    [
      ['.git', true, true],
      ['.git/config', false, true],
      ['vendor/lib/.git', true, true],
      ['node_modules', true, true],
      ['node_modules/zod/index.js', false, true],
      ['packages/app/node_modules', true, true],
      ['src/index.ts', false, false],
      ['.gitignore', false, false],
      ['node_modules', false, false],
    ],
  );

  it('keeps .git/ when ignoreGitDir is off', () => {
    const r = new IgnoreRules(new Map(), new Set(), { ignoreGitDir: false, ignoreNodeModules: true });
    expect([
      r.isIgnored('.git', true),
      r.isIgnored('.git/config', false),
      r.isIgnored('node_modules', true),
    ]).toEqual([false, false, true]);
  });

  it('keeps node_modules/ when ignoreNodeModules is off', () => {
    const r = new IgnoreRules(new Map(), new Set(), { ignoreGitDir: true, ignoreNodeModules: false });
    expect([
      r.isIgnored('node_modules', true),
      r.isIgnored('node_modules/x.js', false),
      r.isIgnored('.git', true),
    ]).toEqual([false, false, true]);
  });
});

describe('IgnoreRules with one root .gitignore', () => {
  expectVerdicts(
    () => rules({ '': '*.log\n!keep.log\nbuild/\n/top-only.txt\n' }),
    [
      ['debug.log', false, true],
      ['deep/down/debug.log', false, true],
      ['keep.log', false, false],
      ['deep/keep.log', false, false],
      ['top-only.txt', false, true],
      ['sub/top-only.txt', false, false],
      ['debug.txt', false, false],
    ],
  );
});

describe("IgnoreRules with a pattern ending in '/'", () => {
  expectVerdicts(
    () => rules({ '': 'logs/\n' }),
    [
      ['logs', true, true],
      ['a/logs', true, true],
      ['logs', false, false],
      ['logs/today.txt', false, true],
    ],
  );
});

describe('IgnoreRules with an excluded folder', () => {
  describe('and a negation for a file inside it in the same file', () => {
    expectVerdicts(
      () => rules({ '': 'build/\n!build/keep.txt\n' }),
      [
        ['build', true, true],
        ['build/keep.txt', false, true],
        ['build/other.txt', false, true],
      ],
    );
  });

  describe("and a negation in the folder's own .gitignore", () => {
    expectVerdicts(() => rules({ '': 'build/\n', build: '!keep.txt\n' }), [['build/keep.txt', false, true]]);
  });

  describe('and a negation of the folder contents instead of the folder', () => {
    expectVerdicts(
      () => rules({ '': 'build/*\n!build/keep.txt\n' }),
      [
        ['build', true, false],
        ['build/keep.txt', false, false],
        ['build/other.txt', false, true],
      ],
    );
  });
});

describe('IgnoreRules with nested .gitignore files', () => {
  const build = () =>
    rules({
      '': '*.log\nsecret.txt\n',
      app: '!debug.log\ncache/\n',
      'app/deep': '*.log\n',
      other: 'local.txt\n',
    });
  expectVerdicts(build, [
    ['debug.log', false, true],
    ['app/debug.log', false, false],
    ['app/sub/debug.log', false, false],
    ['app/trace.log', false, true],
    ['app/deep/debug.log', false, true],
    ['app/cache', true, true],
    ['cache', true, false],
    ['other/local.txt', false, true],
    ['local.txt', false, false],
    ['app/local.txt', false, false],
    ['app/secret.txt', false, true],
  ]);
});

describe('IgnoreRules with tracked files', () => {
  const build = () => rules({ '': 'generated/\n*.lock\n' }, ['generated/.gitkeep', 'bun.lock']);
  expectVerdicts(build, [
    ['generated/.gitkeep', false, false],
    ['generated', true, false],
    ['generated/other.txt', false, true],
    ['generated/sub', true, true],
    ['bun.lock', false, false],
    ['yarn.lock', false, true],
  ]);

  it('says a folder holding a tracked file holds tracked files, so a walker descends into it', () => {
    const r = build();
    expect([
      r.holdsTracked('generated'),
      r.holdsTracked('generated/.gitkeep'),
      r.holdsTracked('src'),
    ]).toEqual([true, true, false]);
  });

  it('keeps a tracked file deep under an ignored folder and each folder on the way', () => {
    const r = rules({ '': 'out/\n' }, ['out/a/b/c.txt']);
    expect([
      r.isIgnored('out', true),
      r.isIgnored('out/a', true),
      r.isIgnored('out/a/b', true),
      r.isIgnored('out/a/b/c.txt', false),
    ]).toEqual([false, false, false, false]);
  });
});

describe('IgnoreRules.setFolderRules', () => {
  it('replaces the root rules instead of adding to them', () => {
    const r = rules({ '': 'a.txt\n' });
    r.setFolderRules('', 'b.txt\n');
    expect([r.isIgnored('a.txt', false), r.isIgnored('b.txt', false)]).toEqual([false, true]);
  });

  it('keeps the default .git/ and node_modules/ rules when it replaces the root rules', () => {
    const r = rules({ '': 'a.txt\n' });
    r.setFolderRules('', '');
    expect([r.isIgnored('.git', true), r.isIgnored('node_modules', true)]).toEqual([true, true]);
  });

  it('replaces the rules of a sub-folder', () => {
    const r = rules({ sub: 'a.txt\n' });
    r.setFolderRules('sub', 'b.txt\n');
    expect([r.isIgnored('sub/a.txt', false), r.isIgnored('sub/b.txt', false)]).toEqual([false, true]);
  });

  it('adds rules for a folder that had none', () => {
    const r = rules({});
    r.setFolderRules('new', '*.tmp\n');
    expect([r.isIgnored('new/x.tmp', false), r.isIgnored('x.tmp', false)]).toEqual([true, false]);
  });
});

describe('IgnoreRules folder verdicts', () => {
  it('answers anew for paths asked before a folder got rules', () => {
    const r = rules({});
    expect(r.isIgnored('a/b/c.txt', false)).toBe(false);
    r.setFolderRules('a', 'b/\n');
    expect([r.isIgnored('a/b/c.txt', false), r.isIgnored('a/b', true)]).toEqual([true, true]);
  });

  it('answers anew when the tracked set or the exclude layers change', () => {
    const r = rules({ '': 'out/\n' });
    expect(r.isIgnored('out/deep/a.js', false)).toBe(true);
    r.setTracked(new Set(['out/deep/a.js']));
    expect(r.isIgnored('out/deep/a.js', false)).toBe(false);
    expect(r.isIgnored('tmp/x', false)).toBe(false);
    r.setRepoExcludes(['tmp/\n']);
    expect(r.isIgnored('tmp/x', false)).toBe(true);
  });

  // Up to 2,047 nested folders fit the 4,096-byte path bound. Asking each ancestor again for every
  // path below it made a walk cost the fourth power of the depth: 87 s for 800 folders, hours
  // for 2,047, with the agent stuck in it; now it is a fraction of a second.
  it('walks a path 800 folders deep, folder by folder, in well under the test timeout', () => {
    const r = rules({ '': 'skip/\n' });
    let path = 'd';
    for (let depth = 1; depth <= 800; depth++, path += '/d') {
      expect(r.isIgnored(path, true)).toBe(false);
      expect(r.isIgnored(`${path}/skip`, true)).toBe(true);
    }
  }, 20_000);
});

describe("IgnoreRules with git's exclude files (core.excludesFile, then .git/info/exclude)", () => {
  const withExcludes = (byFolder: Record<string, string>, excludesFile: string, infoExclude: string) =>
    new IgnoreRules(new Map(Object.entries(byFolder)), new Set(), DEFAULT_IGNORE_OPTIONS, [
      excludesFile,
      infoExclude,
    ]);
  expectVerdicts(
    () =>
      withExcludes(
        { '': '!keep.swp\n', sub: '!sub-kept.log\n' },
        '*.swp\n*.log\nglobal-only.txt\n!info-wins.md\n',
        'notes/\n*.md\n!global-only.txt\n',
      ),
    [
      // core.excludesFile alone
      ['x.swp', false, true],
      ['deep/x.swp', false, true],
      // a .gitignore of the tree overrides both exclude files, at the root and below
      ['keep.swp', false, false],
      ['sub/sub-kept.log', false, false],
      ['other.log', false, true],
      // .git/info/exclude overrides core.excludesFile, in both directions
      ['global-only.txt', false, false],
      ['info-wins.md', false, true],
      // folder patterns of the exclude files exclude the files inside
      ['notes', true, true],
      ['notes/a.txt', false, true],
      ['plain.ts', false, false],
    ],
  );

  it('keeps a tracked file that an exclude file matches', () => {
    const r = new IgnoreRules(new Map(), new Set(['x.swp']), DEFAULT_IGNORE_OPTIONS, ['*.swp\n', '']);
    expect([r.isIgnored('x.swp', false), r.isIgnored('y.swp', false)]).toEqual([false, true]);
  });

  it('replaces the exclude layers and the tracked set, keeping the ignore files of the tree', () => {
    const r = rules({ '': 'dist/\n' });
    r.setRepoExcludes(['', '*.swp\n']);
    r.setTracked(new Set(['dist/app.js']));
    expect([
      r.isIgnored('x.swp', false),
      r.isIgnored('dist', true),
      r.isIgnored('dist/app.js', false),
      r.isIgnored('dist/other.js', false),
    ]).toEqual([true, false, false, true]);
  });
});

describe('IgnoreRules.isSkippedByDefault', () => {
  const cases: [path: string, isDir: boolean, skipped: boolean][] = [
    ['node_modules', true, true],
    ['node_modules/zod/index.js', false, true],
    ['pkg/node_modules/x.js', false, true],
    ['node_modules', false, false],
    ['.git', true, true],
    ['dist/app.js', false, false],
  ];
  for (const [path, isDir, skipped] of cases) {
    it(`${skipped ? 'skips' : 'keeps'} ${isDir ? 'folder' : 'file'} '${path}'`, () => {
      expect(rules({ '': 'dist/\n' }).isSkippedByDefault(path, isDir)).toBe(skipped);
    });
  }
});

describe('retrackedPaths', () => {
  const r = () => rules({ '': 'dist/\n*.gen.ts\n' });
  const cases: [what: string, before: string[], after: string[], expected: string[]][] = [
    [
      'a forced add under an ignored folder: the file and the folder',
      [],
      ['dist/a.js'],
      ['dist/a.js', 'dist'],
    ],
    ['a file that left the index under an ignored pattern', ['api.gen.ts'], [], ['api.gen.ts']],
    ['ordinary files added: nothing', [], ['src/a.ts', 'b.ts'], []],
    ['no change: nothing', ['dist/a.js'], ['dist/a.js'], []],
    ['a deep ignored folder: every ignored ancestor', [], ['dist/x/y.js'], ['dist/x/y.js', 'dist', 'dist/x']],
  ];
  for (const [what, before, after, expected] of cases) {
    it(what, () => {
      expect(retrackedPaths(r(), new Set(before), new Set(after)).sort()).toEqual([...expected].sort());
    });
  }
});

describe('IgnoreRules.isIgnoreFile', () => {
  const cases: [path: string, isIgnoreFile: boolean][] = [
    ['.gitignore', true],
    ['src/.gitignore', true],
    ['.warmsyncignore', true],
    ['a/b/.warmsyncignore', true],
    ['.gitignore.bak', false],
    ['gitignore', false],
    ['.gitattributes', false],
  ];
  for (const [path, expected] of cases) {
    it(`is ${expected} for '${path}'`, () => {
      expect(IgnoreRules.isIgnoreFile(path)).toBe(expected);
    });
  }
});

describe('IgnoreRules.explain', () => {
  const build = () =>
    new IgnoreRules(
      new Map([
        ['', 'dist/\n*.log\n!keep.log\n'],
        ['pkg', 'generated/\n'],
      ]),
      new Set(['dist/tracked.js']),
      { ...DEFAULT_IGNORE_OPTIONS, extraPatterns: ['*.tmp'] },
      ['', 'secret.txt\n'],
    );
  const table: [path: string, isDir: boolean, ignored: boolean, reason: string][] = [
    ['src/a.ts', false, false, 'no ignore rule matches it'],
    ['app.log', false, true, 'pattern "*.log" of the root\'s .gitignore or .warmsyncignore ignores it'],
    ['keep.log', false, false, 'no ignore rule matches it'],
    // dist/ holds a tracked file, so the folder is walked, and the pattern still ignores the rest.
    ['dist/x.js', false, true, 'pattern "dist/" of the root\'s'],
    ['pkg/generated', true, true, 'pattern "generated/" of pkg/\'s'],
    ['dist/tracked.js', false, false, 'git tracks it'],
    ['pkg/generated/a.ts', false, true, 'pattern "generated/" of pkg/\'s'],
    ['node_modules/zod/index.js', false, true, 'the default "node_modules/"'],
    ['notes.tmp', false, true, 'pattern "*.tmp" of warmsync.toml\'s ignore'],
    ['secret.txt', false, true, 'pattern "secret.txt" of git\'s .git/info/exclude'],
  ];
  for (const [path, isDir, ignored, reason] of table)
    it(`${path}: ${ignored ? 'ignored' : 'kept'}, because ${reason}`, () => {
      const verdict = build().explain(path, isDir);
      expect(verdict.ignored).toBe(ignored);
      expect(verdict.reason).toContain(reason);
      // The explanation agrees with the verdict the agent acts on.
      expect(build().isIgnored(path, isDir)).toBe(ignored);
    });
});
