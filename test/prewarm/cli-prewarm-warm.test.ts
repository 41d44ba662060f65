import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrewarmReport } from '../../src/cli/prewarm.ts';
import { addModule, proxyUrl } from './go-proxy.ts';
import { startIndex, type TestIndex } from './pypi-index.ts';

const entry = join(import.meta.dir, '../../src/cli/prewarm.ts');
/** The environment without this machine's pip and Go settings. */
const base: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (pair): pair is [string, string] => pair[1] !== undefined && !/^(PIP_|GO)/.test(pair[0]),
    ),
  ),
  PIP_CONFIG_FILE: '/dev/null',
};
let scratch: string;
let index: TestIndex;

/** Runs the command in its own process, as the CLI does. */
async function runPrewarm(args: string[], env: Record<string, string> = {}): Promise<PrewarmReport> {
  const script = `import { prewarmCommand } from ${JSON.stringify(entry)};
process.exitCode = await prewarmCommand.run(${JSON.stringify(args)});`;
  const child = Bun.spawn([process.execPath, '-e', script], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...base, ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`prewarm exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as PrewarmReport;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'warmsync-cli-warm-'));
  index = await startIndex();
  await index.addWheel('warm-cli-wheel', '1.0');
  await addModule(join(scratch, 'proxy'), 'example.com/warmcli', 'v1.0.0');
}, 60_000);

afterAll(async () => {
  await index.stop();
  await Bun.spawn(['chmod', '-R', 'u+w', scratch]).exited;
  await rm(scratch, { recursive: true, force: true });
});

describe('warmsync prewarm --warm', () => {
  it('warms the PyPI candidates into the wheel folder and leaves the workspace alone', async () => {
    const project = await mkdtemp(join(scratch, 'python-'));
    await writeFile(join(project, 'requirements.txt'), 'warm-cli-wheel>=1\n');
    await writeFile(join(project, 'app.py'), 'import warm_cli_wheel\n');
    const wheels = join(scratch, 'wheels');
    const report = await runPrewarm([
      project,
      '--warm',
      '--pip-cache',
      wheels,
      '--pip-index-url',
      index.url,
      '--from-history',
      '0',
      '--json',
    ]);
    expect(report.warmed).toEqual(['warm-cli-wheel>=1']);
    expect(await readdir(wheels)).toEqual(['warm_cli_wheel-1.0-py3-none-any.whl']);
    expect((await readdir(project)).sort()).toEqual(['app.py', 'requirements.txt']);
  }, 60_000);

  it('warms the Go candidates into the module cache, checked against the go.sum', async () => {
    const project = await mkdtemp(join(scratch, 'go-'));
    await writeFile(
      join(project, 'go.mod'),
      'module example.com/app\n\ngo 1.19\n\nrequire example.com/warmcli v1.0.0\n',
    );
    await writeFile(
      join(project, 'main.go'),
      'package main\n\nimport _ "example.com/warmcli"\n\nfunc main() {}\n',
    );
    const modCache = join(scratch, 'go-mod');
    const warmInto = (cache: string) => [
      project,
      '--warm',
      '--go-cache',
      cache,
      '--goproxy',
      proxyUrl(join(scratch, 'proxy')),
      '--from-history',
      '0',
      '--json',
    ];
    const env = { GOSUMDB: 'off', GOMODCACHE: join(scratch, 'own-mod'), GOCACHE: join(scratch, 'gocache') };
    const report = await runPrewarm(warmInto(modCache), env);
    expect(report.warmed).toEqual(['example.com/warmcli@v1.0.0']);
    expect(await readdir(join(modCache, 'cache', 'download', 'example.com', 'warmcli', '@v'))).toContain(
      'v1.0.0.zip',
    );
    // A go.sum that disagrees stops the module from being published.
    await writeFile(
      join(project, 'go.sum'),
      'example.com/warmcli v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n',
    );
    const refused = await runPrewarm(warmInto(join(scratch, 'go-mod-2')), env);
    expect(refused.warmed).toEqual([]);
    expect(refused.problems.some((p) => p.includes('go.sum lists'))).toBe(true);
  }, 60_000);
});
