import { describe, expect, it } from 'bun:test';
import { extractPythonImports, importedPythonModules } from '../../src/prewarm/imports-python.ts';
import { distributionOf, normalizeDistribution } from '../../src/prewarm/python-distributions.ts';

describe('importedPythonModules', () => {
  const cases: Array<[string, string, string[]]> = [
    ['a plain import', 'import requests\n', ['requests']],
    ['a dotted import', 'import a.b.c\n', ['a.b.c']],
    ['several imports with aliases', 'import a, b as c, d.e as f\n', ['a', 'b', 'd.e']],
    ['from-imports', 'from flask import Flask, request\n', ['flask']],
    [
      'a parenthesised multi-line from-import',
      'from x.y import (\n    a,\n    b as c,\n)\nimport z\n',
      ['x.y', 'z'],
    ],
    ['a backslash continuation', 'from pkg import a, \\\n    b\nimport q\n', ['pkg', 'q']],
    [
      'imports inside blocks',
      'def f():\n    import lazy\ntry: import fast\nexcept ImportError: import slow\n',
      ['lazy', 'fast', 'slow'],
    ],
    ['statements split by semicolons', 'import a; import b\n', ['a', 'b']],
    ['relative imports, left out', 'from . import sibling\nfrom .pkg import x\nfrom ..up import y\n', []],
    [
      'imports in comments and strings, left out',
      '# import fake\ns = "import fake2"\nt = """\nimport fake3\n"""\nu = f\'from fake4 import x\'\n',
      [],
    ],
    ['words that are not statements', 'x = obj.import_\nprint("a", from_)\nraise E from err\n', []],
    ['Windows line endings', 'import a\r\nfrom b import c\r\n', ['a', 'b']],
  ];
  for (const [what, source, expected] of cases) {
    it(`reads ${what}`, () => {
      expect(importedPythonModules(source)).toEqual(expected);
    });
  }
});

describe('extractPythonImports', () => {
  it('leaves out the standard library, including __future__ and dotted stdlib modules', () => {
    const source =
      'from __future__ import annotations\nimport os.path, sys, json\nfrom collections import abc\n';
    expect(extractPythonImports(source).packages).toEqual([]);
  });

  it('maps import names to distribution names where they differ', () => {
    const source =
      'import yaml\nimport cv2\nfrom PIL import Image\nfrom sklearn.linear_model import X\nfrom bs4 import B\n';
    expect(extractPythonImports(source).packages).toEqual([
      'Pillow',
      'PyYAML',
      'beautifulsoup4',
      'opencv-python',
      'scikit-learn',
    ]);
  });

  it('keeps third-party names that need no mapping, once each', () => {
    expect(
      extractPythonImports('import numpy as np\nimport numpy.linalg\nimport requests\n').packages,
    ).toEqual(['numpy', 'requests']);
  });
});

describe('distributionOf and normalizeDistribution', () => {
  it('uses the longest mapped dotted prefix for namespace packages', () => {
    expect(distributionOf('google.protobuf.message')).toBe('protobuf');
    expect(distributionOf('requests.adapters')).toBe('requests');
  });

  it('compares spellings of one project equal after normalisation', () => {
    expect(normalizeDistribution('PyYAML')).toBe(normalizeDistribution('pyyaml'));
    expect(normalizeDistribution('sentry_sdk')).toBe('sentry-sdk');
    expect(normalizeDistribution('ruamel.yaml')).toBe('ruamel-yaml');
  });
});
