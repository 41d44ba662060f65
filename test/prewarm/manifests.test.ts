import { describe, expect, it } from 'bun:test';
import {
  parseGoMod,
  parsePackageJson,
  parsePyproject,
  parseRequirementsTxt,
} from '../../src/prewarm/manifests.ts';

describe('parsePackageJson', () => {
  it('collects all four dependency sections, first section winning on duplicates', () => {
    const text = JSON.stringify({
      dependencies: { zod: '^4.0.0' },
      devDependencies: { typescript: '^5', zod: '^3' },
      peerDependencies: { react: '>=18' },
      optionalDependencies: { fsevents: '*' },
    });
    expect(parsePackageJson(text).declared).toEqual([
      { name: 'zod', range: '^4.0.0' },
      { name: 'typescript', range: '^5' },
      { name: 'react', range: '>=18' },
      { name: 'fsevents', range: '*' },
    ]);
  });

  it('reports invalid JSON and wrongly typed sections as problems', () => {
    expect(parsePackageJson('{ nope').problems).toHaveLength(1);
    expect(parsePackageJson('{"dependencies": ["zod"]}').problems).toHaveLength(1);
  });
});

describe('parseRequirementsTxt', () => {
  it('reads names and ranges, skipping comments, options and markers', () => {
    const text = [
      '# pinned',
      'requests==2.31.0  # http',
      'PyYAML>=6,<7',
      'uvicorn[standard] >= 0.29',
      "pywin32; sys_platform == 'win32'",
      '-r dev.txt',
      '--index-url https://example.invalid/simple',
      '-e .',
      'numpy \\',
      '  >=1.26',
      'pkg @ https://example.invalid/pkg.whl',
      '',
    ].join('\n');
    expect(parseRequirementsTxt(text).declared).toEqual([
      { name: 'requests', range: '==2.31.0' },
      { name: 'PyYAML', range: '>=6,<7' },
      { name: 'uvicorn', range: '>= 0.29' },
      { name: 'pywin32', range: '' },
      { name: 'numpy', range: '>=1.26' },
      { name: 'pkg', range: '' },
    ]);
  });
});

describe('parsePyproject', () => {
  it('reads PEP 621 dependencies, optional dependencies and dependency groups', () => {
    const text = [
      '[project]',
      'name = "app"',
      'dependencies = ["httpx>=0.27", "pydantic"]',
      '[project.optional-dependencies]',
      'cli = ["typer"]',
      '[dependency-groups]',
      'test = ["pytest>=8", { include-group = "cli" }]',
    ].join('\n');
    expect(parsePyproject(text).declared.map((entry) => entry.name)).toEqual([
      'httpx',
      'pydantic',
      'typer',
      'pytest',
    ]);
  });

  it('reads Poetry dependency tables without python itself', () => {
    const text = [
      '[tool.poetry.dependencies]',
      'python = "^3.11"',
      'Django = "^5.0"',
      'celery = { version = "^5", extras = ["redis"] }',
      '[tool.poetry.group.dev.dependencies]',
      'black = "*"',
    ].join('\n');
    expect(parsePyproject(text).declared).toEqual([
      { name: 'Django', range: '^5.0' },
      { name: 'celery', range: '' },
      { name: 'black', range: '*' },
    ]);
  });

  it('reports text that is not TOML', () => {
    expect(parsePyproject('[project\nname=').problems).toHaveLength(1);
  });
});

describe('parseGoMod', () => {
  it('reads the module path and block and single-line requirements', () => {
    const text = [
      'module example.com/me/app',
      '',
      'go 1.22',
      '',
      'require github.com/spf13/cobra v1.8.0',
      'require (',
      '\tgolang.org/x/sync v0.7.0',
      '\tgopkg.in/yaml.v3 v3.0.1 // indirect',
      ')',
      'replace golang.org/x/sync => ../sync',
    ].join('\n');
    expect(parseGoMod(text)).toEqual({
      module: 'example.com/me/app',
      requirements: [
        { path: 'github.com/spf13/cobra', version: 'v1.8.0' },
        { path: 'golang.org/x/sync', version: 'v0.7.0' },
        { path: 'gopkg.in/yaml.v3', version: 'v3.0.1' },
      ],
    });
  });
});
