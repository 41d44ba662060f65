import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findCandidates } from '../../src/prewarm/candidates.ts';
import { createPathFilter } from '../../src/prewarm/path-filter.ts';
import { scanWorkspace } from '../../src/prewarm/scan.ts';

let root: string;
let modCache: string;

async function put(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'warmsync-scan-'));
  modCache = await mkdtemp(join(tmpdir(), 'warmsync-gomod-'));
  await put(
    join(root, 'package.json'),
    JSON.stringify({ dependencies: { zod: '^4.0.0', hono: '^4.0.0' }, devDependencies: { vitest: '^2' } }),
  );
  await put(join(root, 'node_modules/hono/package.json'), '{"name":"hono","version":"4.1.0"}');
  await put(
    join(root, 'src/app.ts'),
    "import { Hono } from 'hono';\nimport { z } from 'zod';\nimport './local';\n",
  );
  await put(join(root, 'src/extra.tsx'), "import chalk from 'chalk';\nimport type { X } from 'vitest';\n");
  await put(join(root, 'src/generated/api.ts'), "import 'ignored-by-prewarm-ignore';\n");
  await put(join(root, 'node_modules/hono/index.js'), "require('never-scanned');\n");
  await put(join(root, '.prewarm-ignore'), 'src/generated/\n');
  await put(join(root, 'requirements.txt'), 'PyYAML>=6\nrequests==2.31.0\n');
  await put(join(root, '.venv/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA'), '');
  await put(join(root, 'tools/run.py'), 'import yaml\nimport requests\nimport os\nimport numpy\n');
  await put(
    join(root, 'go.mod'),
    'module example.com/me\n\nrequire (\n\tgithub.com/BurntSushi/toml v1.3.2\n\tgolang.org/x/sync v0.7.0\n)\n',
  );
  await put(join(modCache, 'cache/download/github.com/!burnt!sushi/toml/@v/v1.3.2.zip'), 'zip');
  await put(
    join(root, 'cmd/main.go'),
    'package main\nimport (\n\t"fmt"\n\t"github.com/BurntSushi/toml"\n\t"golang.org/x/sync/errgroup"\n\t"example.com/me/internal"\n)\n',
  );
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(modCache, { recursive: true, force: true });
});

describe('scanWorkspace', () => {
  it('names missing and cold packages in all three ecosystems, skipping installed ones', async () => {
    const scan = await scanWorkspace(root, { goModCache: modCache });
    const found = findCandidates(scan.imported, scan.dependencies).map(
      (c) => `${c.ecosystem}:${c.name}:${c.status}`,
    );
    expect(found).toEqual([
      'go:golang.org/x/sync:cold',
      'npm:chalk:missing',
      'npm:zod:cold',
      'pypi:numpy:missing',
      'pypi:PyYAML:cold',
    ]);
  });

  it('honours .prewarm-ignore and never reads node_modules', async () => {
    const scan = await scanWorkspace(root, { goModCache: modCache });
    const names = scan.imported.map((use) => use.name);
    expect(names).not.toContain('ignored-by-prewarm-ignore');
    expect(names).not.toContain('never-scanned');
    expect(scan.filesScanned).toBe(4);
  });

  it('records which files import each package', async () => {
    const scan = await scanWorkspace(root, { goModCache: modCache });
    expect(scan.imported.find((use) => use.name === 'zod')?.importedBy).toEqual(['src/app.ts']);
  });

  it('accepts an explicit filter in place of .prewarm-ignore', async () => {
    const scan = await scanWorkspace(root, { goModCache: modCache, filter: createPathFilter('tools/\n') });
    const names = scan.imported.map((use) => use.name);
    expect(names).toContain('ignored-by-prewarm-ignore');
    expect(names).not.toContain('numpy');
  });
});
