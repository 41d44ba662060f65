import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrewarmReport } from '../../src/cli/prewarm.ts';
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
}, 60_000);

afterAll(async () => {
  await index.stop();
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
});
