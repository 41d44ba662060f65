import { describe, expect, it } from 'bun:test';
import { extractJsImports, isJsSource } from '../../src/prewarm/imports-js.ts';

function packagesOf(fileName: string, source: string): string[] {
  return extractJsImports(fileName, source).packages;
}

describe('extractJsImports', () => {
  it('finds default, named, namespace and side-effect imports', () => {
    const source = [
      "import React from 'react';",
      "import { z } from 'zod';",
      "import * as path from 'pathe';",
      "import 'reflect-metadata';",
    ].join('\n');
    expect(packagesOf('a.ts', source)).toEqual(['pathe', 'react', 'reflect-metadata', 'zod']);
  });

  it('finds re-exports of values, star re-exports and namespace re-exports', () => {
    const source = "export { a } from 'alpha';\nexport * from 'beta';\nexport * as g from 'gamma';";
    expect(packagesOf('a.ts', source)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('finds dynamic imports with a constant argument, including a plain template', () => {
    const source = "const a = await import('chalk');\nconst b = import(`kleur`);\nconst c = import(name);";
    expect(packagesOf('a.mjs', source)).toEqual(['chalk', 'kleur']);
  });

  it('finds require calls and TypeScript import-equals', () => {
    const source = "const x = require('debug');\nimport fs = require('fs-extra');\nconst y = require(dyn);";
    expect(packagesOf('a.ts', source)).toEqual(['debug', 'fs-extra']);
  });

  it('ignores type-only imports and re-exports', () => {
    const source = [
      "import type { A } from 'only-types';",
      "import { type B } from 'inline-types';",
      "export type { C } from 'reexported-types';",
      "export type * from 'star-types';",
      "import { type D, e } from 'mixed';",
    ].join('\n');
    expect(packagesOf('a.ts', source)).toEqual(['mixed']);
  });

  it('ignores specifiers inside strings, comments and template text', () => {
    const source = [
      '// import x from "in-line-comment";',
      '/* require("in-block-comment") */',
      'const s = "import y from \'in-string\'";',
      'const t = `require("in-template")`;',
      "import real from 'real';",
    ].join('\n');
    expect(packagesOf('a.js', source)).toEqual(['real']);
  });

  it('reduces subpaths and scoped subpaths to package names and removes duplicates', () => {
    const source = "import a from 'lodash/fp';\nimport b from 'lodash';\nimport c from '@babel/core/lib/x';";
    expect(packagesOf('a.ts', source)).toEqual(['@babel/core', 'lodash']);
  });

  it('excludes relative paths, Node and Bun built-ins', () => {
    const source = [
      "import a from './a';",
      "import b from '../b.js';",
      "import fs from 'node:fs';",
      "import p from 'path';",
      "import { readFile } from 'fs/promises';",
      "import { Database } from 'bun:sqlite';",
      "import { serve } from 'bun';",
    ].join('\n');
    expect(packagesOf('a.ts', source)).toEqual([]);
  });

  it('parses JSX in .js and .tsx files and TypeScript generics in .ts files', () => {
    expect(packagesOf('a.js', "import React from 'react';\nexport const A = () => <div />;")).toEqual([
      'react',
    ]);
    expect(packagesOf('a.tsx', "import { x } from 'preact';\nconst B = <T,>(v: T) => <p>{v}</p>;")).toEqual([
      'preact',
    ]);
    expect(packagesOf('a.ts', "import { y } from 'ramda';\nconst n = <number>y;")).toEqual(['ramda']);
  });

  it('reports a parse error as a problem naming the file', () => {
    const scan = extractJsImports('broken.ts', "import a from 'kept';\nconst = ;");
    expect(scan.packages).toEqual(['kept']);
    expect(scan.problems.length).toBeGreaterThan(0);
    expect(scan.problems[0]).toStartWith('broken.ts: ');
  });
});

describe('isJsSource', () => {
  it('accepts JavaScript and TypeScript sources and rejects declarations and other files', () => {
    expect(['a.js', 'a.mjs', 'a.cjs', 'a.jsx', 'a.ts', 'a.mts', 'a.tsx'].every(isJsSource)).toBe(true);
    expect(['a.d.ts', 'a.d.mts', 'a.json', 'a.py', 'Makefile'].some(isJsSource)).toBe(false);
  });
});

describe('extractJsImports on a file the parser gives up on', () => {
  it('still returns runtime static and dynamic imports, without type-only ones', () => {
    const source = "import a from 'kept';\nimport type { T } from 'types';\nimport('lazy');\nconst = ;";
    expect(packagesOf('broken.ts', source)).toEqual(['kept', 'lazy']);
  });
});
