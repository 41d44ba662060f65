import { describe, expect, it } from 'bun:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dir, '../..');
const COMMITTED = 'action/dist/index.js';

describe('action/dist/index.js', () => {
  it('is what `npm run build:action` produces from the current sources', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const script = pkg.scripts['build:action'];
    expect(script).toContain(`--outfile ${COMMITTED}`);
    const dir = await mkdtemp(join(tmpdir(), 'warmsync-bundle-'));
    try {
      const fresh = join(dir, 'index.js');
      // The same command as the npm script, writing elsewhere so the committed file is untouched.
      const proc = Bun.spawn(
        ['sh', '-c', (script ?? '').replace(`--outfile ${COMMITTED}`, `--outfile '${fresh}'`)],
        {
          cwd: root,
          env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
          stdout: 'pipe',
          stderr: 'pipe',
        },
      );
      const code = await proc.exited;
      if (code !== 0)
        throw new Error(`build:action failed (${code}): ${await new Response(proc.stderr).text()}`);
      const [built, committed] = await Promise.all([
        readFile(fresh, 'utf8'),
        readFile(join(root, COMMITTED), 'utf8'),
      ]);
      if (built !== committed) {
        throw new Error(`${COMMITTED} is stale: run 'npm run build:action' and commit the result`);
      }
      expect(built.length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts with the banner that gives bundled CommonJS code a require()', async () => {
    const committed = await readFile(join(root, COMMITTED), 'utf8');
    expect(committed.split('\n')[0]).toBe(
      "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
    );
  });
});
