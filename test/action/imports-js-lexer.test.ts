import { describe, expect, it } from 'bun:test';
import { extractJsImports } from '../../src/prewarm/imports-js.ts';
import { extractJsImportsLexically } from '../../src/prewarm/imports-js-lexer.ts';

// The Action cannot carry oxc-parser (a native addon) in its bundle, so it reads imports with the
// lexer. Each case states the packages and is also run through oxc, so the two cannot drift apart.

const cases: Array<[string, string, string, string[]]> = [
  [
    'default, named and namespace imports',
    'a.ts',
    "import a from 'alpha';\nimport { b } from \"beta/sub\";\nimport * as c from '@scope/gamma/x';",
    ['@scope/gamma', 'alpha', 'beta'],
  ],
  ['a bare import runs', 'a.js', "import 'side-effect';", ['side-effect']],
  [
    'type-only imports are erased',
    'a.ts',
    "import type { A } from 'types-only';\nimport type B from 'types-b';\nimport { type C, type D } from 'all-types';",
    [],
  ],
  [
    'one value binding keeps an import',
    'a.ts',
    "import { type A, b } from 'mixed';\nimport D, { type E } from 'with-default';",
    ['mixed', 'with-default'],
  ],
  ['a default binding named type is a value', 'a.ts', "import type from 'named-type';", ['named-type']],
  [
    're-exports, but not type re-exports',
    'a.ts',
    "export * from 'star';\nexport * as ns from 'star-ns';\nexport { x } from 'named-re';\nexport type { T } from 'type-re';\nexport type * from 'type-star';\nexport { y };\nexport const z = 1;",
    ['named-re', 'star', 'star-ns'],
  ],
  [
    'require and dynamic import with constants',
    'a.cjs',
    "const a = require('req');\nconst b = await import('dyn');\nconst c = import(`tmpl`);",
    ['dyn', 'req', 'tmpl'],
  ],
  [
    'no constant, no package',
    'a.js',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source under test
    "require(name);\nimport(`${base}/x`);\nrequire(`pre-${x}`);\nconst y = obj.require('method');",
    [],
  ],
  [
    'TypeScript import-equals',
    'a.ts',
    "import fs = require('fs-extra');\nimport type T = require('type-eq');",
    ['fs-extra'],
  ],
  [
    'imports inside comments and strings are text',
    'a.ts',
    "// import a from 'in-line-comment';\n/* require('in-block') */\nconst s = \"import x from 'in-string'\";\nconst t = `require('in-template')`;\nimport real from 'real';",
    ['real'],
  ],
  [
    'regular expressions with quotes and slashes',
    'a.js',
    "const r = /['\"]\\/[/]/g;\nconst q = x.replace(/'/, \"\");\nimport after from 'after-regex';",
    ['after-regex'],
  ],
  [
    'division is not a regular expression',
    'a.js',
    "const a = b / c / d;\nconst e = (f) / 2; import g from 'after-division';",
    ['after-division'],
  ],
  [
    'template substitutions with nested braces',
    'a.ts',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source under test
    "const s = `${ { a: 1 }.a } and ${`${'x'}`}`;\nimport h from 'after-template';",
    ['after-template'],
  ],
  [
    'built-ins, files and aliases are no packages',
    'a.ts',
    "import fs from 'node:fs';\nimport p from 'path';\nimport l from './local';\nimport at from '@/alias';\nimport b from 'bun:test';",
    [],
  ],
  [
    'TSX with JSX text',
    'a.tsx',
    "import React from 'react';\nimport { clsx } from 'clsx';\nexport const A = () => <div className=\"a\">hello</div>;",
    ['clsx', 'react'],
  ],
  ['import.meta is not an import', 'a.ts', "const u = import.meta.url;\nimport z from 'zod';", ['zod']],
];

describe('extractJsImportsLexically', () => {
  for (const [name, file, source, packages] of cases) {
    it(`${name}, as oxc-parser reads it`, () => {
      const lexed = extractJsImportsLexically(file, source);
      expect(lexed.packages).toEqual(packages);
      expect(extractJsImports(file, source).packages).toEqual(packages);
      expect(lexed.problems).toEqual([]);
    });
  }

  it('reports an unterminated comment as a problem and keeps what came before it', () => {
    const result = extractJsImportsLexically('a.ts', "import a from 'kept';\n/* never closed");
    expect(result.packages).toEqual(['kept']);
    expect(result.problems).toEqual(['a.ts: unterminated comment']);
  });

  it('lets a quote in JSX text spoil at most its own line', () => {
    const source = "import a from 'first';\nconst x = <p>don't</p>;\nimport b from 'second';";
    expect(extractJsImportsLexically('a.jsx', source).packages).toEqual(['first', 'second']);
  });
});
