import { describe, expect, it } from 'bun:test';
import {
  extractGoImports,
  type GoRequirement,
  goImportPaths,
  goModuleOf,
  isGoStdlib,
} from '../../src/prewarm/imports-go.ts';

const requirements: GoRequirement[] = [
  { path: 'github.com/spf13/cobra', version: 'v1.8.0' },
  { path: 'golang.org/x/tools', version: 'v0.20.0' },
  { path: 'golang.org/x/tools/gopls', version: 'v0.15.0' },
  { path: 'gopkg.in/yaml.v3', version: 'v3.0.1' },
];

describe('goImportPaths', () => {
  it('reads single, aliased, dot, blank and grouped imports', () => {
    const source = [
      'package main',
      'import "fmt"',
      'import y "gopkg.in/yaml.v3"',
      'import (',
      '  "net/http"',
      '  . "github.com/a/dot"',
      '  _ "github.com/lib/pq" // driver',
      '  raw `github.com/raw/str`',
      ')',
      'func main() {}',
    ].join('\n');
    expect(goImportPaths(source)).toEqual([
      'fmt',
      'gopkg.in/yaml.v3',
      'net/http',
      'github.com/a/dot',
      'github.com/lib/pq',
      'github.com/raw/str',
    ]);
  });

  it('ignores commented-out imports and import-like strings after the first declaration', () => {
    const source = [
      'package main',
      '// import "github.com/commented/line"',
      '/* import "github.com/commented/block" */',
      'import "os"',
      'func f() string { return `import "github.com/in/body"` }',
    ].join('\n');
    expect(goImportPaths(source)).toEqual(['os']);
  });
});

describe('isGoStdlib', () => {
  it('treats paths whose first element has no dot as standard library', () => {
    expect(isGoStdlib('net/http')).toBe(true);
    expect(isGoStdlib('github.com/x/y')).toBe(false);
  });
});

describe('goModuleOf', () => {
  it('picks the longest module that owns the package path', () => {
    expect(goModuleOf('golang.org/x/tools/gopls/internal/lsp', requirements)).toBe(
      'golang.org/x/tools/gopls',
    );
    expect(goModuleOf('golang.org/x/tools/go/packages', requirements)).toBe('golang.org/x/tools');
    expect(goModuleOf('github.com/spf13/cobra', requirements)).toBe('github.com/spf13/cobra');
  });

  it('does not match a module that is only a string prefix of another path element', () => {
    expect(goModuleOf('github.com/spf13/cobra-cli', requirements)).toBeUndefined();
  });
});

describe('extractGoImports', () => {
  it('resolves imports to required modules and leaves out stdlib and the own module', () => {
    const source =
      'package m\nimport (\n "fmt"\n "example.com/me/internal/x"\n "github.com/spf13/cobra/doc"\n "gopkg.in/yaml.v3"\n)\n';
    const scan = extractGoImports(source, requirements, 'example.com/me');
    expect(scan.packages).toEqual(['github.com/spf13/cobra', 'gopkg.in/yaml.v3']);
    expect(scan.problems).toEqual([]);
  });

  it('keeps an import no requirement provides, and reports it', () => {
    const scan = extractGoImports('package m\nimport "github.com/new/dep/pkg"\n', requirements);
    expect(scan.packages).toEqual(['github.com/new/dep/pkg']);
    expect(scan.problems).toHaveLength(1);
  });
});
