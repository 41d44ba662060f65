import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { type PrewarmReport, prewarmCommand } from '../../src/cli/prewarm.ts';
import { UserError } from '../../src/cli/user-error.ts';
import { startRegistry } from './npm-registry.ts';

const entry = join(import.meta.dir, '../../src/cli/prewarm.ts');
let workspace: string;

async function put(path: string, text: string): Promise<void> {
  await mkdir(dirname(join(workspace, path)), { recursive: true });
  await writeFile(join(workspace, path), text);
}

/** Runs the command in its own process, as the CLI does, and returns exit code and stdout. */
async function runPrewarm(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `import { prewarmCommand } from ${JSON.stringify(entry)};
process.exitCode = await prewarmCommand.run(${JSON.stringify(args)});`;
  const child = Bun.spawn([process.execPath, '-e', script], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'warmsync-cli-prewarm-'));
  const git = simpleGit(workspace);
  await git.init();
  await git.addConfig('user.name', 'Test');
  await git.addConfig('user.email', 'test@example.invalid');
  await put('package.json', JSON.stringify({ dependencies: { zod: '^4.0.0' } }));
  await put('.prewarm-ignore', 'secret/\n');
  for (let i = 0; i < 3; i++) {
    await put('src/api.ts', `import { z } from 'zod';\nexport const v = ${i};\n`);
    await put('src/api.test.ts', `// ${i}\n`);
    await put('secret/notes.ts', `// ${i}\n`);
    await git.add('.');
    await git.commit(`change ${i}`);
  }
  await put('src/api.ts', "import { z } from 'zod';\nimport chalk from 'chalk';\n");
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('warmsync prewarm', () => {
  it('prints the hot set predicted from the files changed now, and the candidates, as JSON', async () => {
    const { code, stdout } = await runPrewarm([workspace, '--json', '--from-history', '50']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as PrewarmReport;
    expect(report.changedNow).toEqual(['src/api.ts']);
    expect(report.hotSetSource).toBe('co-change');
    expect(report.hotSet[0]).toMatchObject({ file: 'src/api.test.ts', confidence: 1, support: 3 });
    expect(report.candidates.map((c) => `${c.name}:${c.status}`)).toEqual(['chalk:missing', 'zod:cold']);
    expect(report.commitsLearned).toBe(3);
  });

  it('keeps .prewarm-ignore paths out of the hot set', async () => {
    const { stdout } = await runPrewarm([workspace, '--json']);
    const report = JSON.parse(stdout) as PrewarmReport;
    expect(report.hotSet.map((p) => p.file)).not.toContain('secret/notes.ts');
  });

  it('prints readable text by default', async () => {
    const { code, stdout } = await runPrewarm([workspace]);
    expect(code).toBe(0);
    expect(stdout).toContain('hot set (co-change, from 3 commits):');
    expect(stdout).toContain('npm zod@^4.0.0  cold');
  });

  it('skips prediction with --from-history 0', async () => {
    const { stdout } = await runPrewarm([workspace, '--json', '--from-history', '0']);
    expect((JSON.parse(stdout) as PrewarmReport).hotSetSource).toBe('none');
  });

  it('prints its help with --help', async () => {
    const { code, stdout } = await runPrewarm(['--help']);
    expect(code).toBe(0);
    expect(stdout).toStartWith('Usage: warmsync prewarm');
  });

  it('rejects user mistakes with a UserError', async () => {
    await expect(prewarmCommand.run(['--from-history', 'many'])).rejects.toBeInstanceOf(UserError);
    await expect(prewarmCommand.run(['--no-such-flag'])).rejects.toBeInstanceOf(UserError);
    await expect(prewarmCommand.run([join(workspace, 'absent')])).rejects.toThrow('is not a folder');
  });
});

describe('warmsync prewarm --warm', () => {
  it('warms the npm candidates into the given cache and reports them, leaving node_modules alone', async () => {
    const registry = await startRegistry();
    const project = await mkdtemp(join(tmpdir(), 'warmsync-cli-warm-'));
    try {
      await registry.publish('warm-cli-dep', '1.1.0');
      await writeFile(
        join(project, 'package.json'),
        JSON.stringify({ dependencies: { 'warm-cli-dep': '^1.0.0' } }),
      );
      await writeFile(join(project, 'index.js'), "require('warm-cli-dep');\nrequire('warm-cli-absent');\n");
      const cache = join(project, '..', `${project.split('/').pop()}-cache`);
      const { code, stdout } = await runPrewarm([project, '--warm', '--npm-cache', cache, '--json'], {
        npm_config_registry: registry.url,
        npm_config_userconfig: registry.userconfig,
      });
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as PrewarmReport;
      expect(report.warmed).toEqual(['warm-cli-dep@^1.0.0']);
      expect(report.problems.some((p) => p.includes('warm-cli-absent'))).toBe(true);
      expect((await readdir(project)).sort()).toEqual(['index.js', 'package.json']);
      expect(await readdir(join(cache, '_cacache'))).toContain('index-v5');
      await rm(cache, { recursive: true, force: true });
    } finally {
      await registry.stop();
      await rm(project, { recursive: true, force: true });
    }
  }, 60_000);
});
