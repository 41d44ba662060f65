import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTallyCounter } from '../../src/prewarm/counter.ts';
import { type PipWarmOptions, warmPip } from '../../src/prewarm/warm-pip.ts';
import { startIndex, type TestIndex } from './pypi-index.ts';

const run = promisify(execFile);
/** pip without this machine's configuration (its extra indexes and find-links folders). */
const hermetic: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PIP_'))),
  PIP_CONFIG_FILE: '/dev/null',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
};
let index: TestIndex;
let scratch: string;
let sdistTrace: string;

beforeAll(async () => {
  index = await startIndex();
  scratch = await mkdtemp(join(tmpdir(), 'warmsync-warm-pip-'));
  sdistTrace = join(scratch, 'setup-py-ran');
  await index.addWheel('warm-alpha', '1.0');
  await index.addWheel('warm-alpha', '1.2');
  await index.addWheel('warm-beta', '2.0');
  await index.addWheel('warm-tampered', '1.0', { tamper: true });
  await index.addWheel('warm-mislabelled', '1.0', { metadataName: 'someone-else' });
  await index.addSdist('warm-source-only', '1.0', sdistTrace);
}, 60_000);

afterAll(async () => {
  await index.stop();
  await rm(scratch, { recursive: true, force: true });
});

function fresh(name: string): { options: PipWarmOptions; log: string[] } {
  const log: string[] = [];
  const root = join(scratch, name);
  return {
    log,
    options: {
      sharedCache: join(root, 'wheels'),
      workRoot: join(root, 'runs'),
      counter: createTallyCounter(),
      log: (message) => log.push(message),
      indexUrl: index.url,
      env: hermetic,
    },
  };
}

describe('warmPip', () => {
  it('fills the wheel folder so pip installs offline into a fresh venv, resolving the range', async () => {
    const { options } = fresh('basic');
    const outcomes = await warmPip([{ name: 'warm-alpha', range: '>=1.0' }], options);
    expect(outcomes).toEqual([{ spec: 'warm-alpha>=1.0', ok: true, published: 1 }]);
    expect(await readdir(options.sharedCache)).toEqual(['warm_alpha-1.2-py3-none-any.whl']);
    const venv = join(scratch, 'venv');
    // Without its own pip (ensurepip takes many seconds): the outer pip installs into it.
    await run('python3', ['-m', 'venv', '--without-pip', venv]);
    const python = join(venv, 'bin', 'python');
    const offline = ['--no-index', '--find-links', options.sharedCache];
    await run('python3', ['-m', 'pip', '--python', python, 'install', '--quiet', ...offline, 'warm-alpha'], {
      env: hermetic,
    });
    const { stdout } = await run(python, ['-c', 'import warm_alpha; print(warm_alpha.VERSION)']);
    expect(stdout.trim()).toBe('1.2');
    expect(await readdir(options.workRoot)).toEqual([]);
  }, 60_000);

  it('translates a Poetry caret range and honours an exact pin', async () => {
    const { options } = fresh('ranges');
    const outcomes = await warmPip(
      [
        { name: 'warm-alpha', range: '==1.0' },
        { name: 'warm_beta', range: '^2.0' },
      ],
      options,
    );
    expect(outcomes.map((o) => [o.spec, o.ok])).toEqual([
      ['warm-alpha==1.0', true],
      ['warm_beta>=2.0,<3', true],
    ]);
    expect((await readdir(options.sharedCache)).sort()).toEqual([
      'warm_alpha-1.0-py3-none-any.whl',
      'warm_beta-2.0-py3-none-any.whl',
    ]);
  }, 60_000);

  it('counts attempts and hits, and logs a failure instead of throwing', async () => {
    const { options, log } = fresh('counting');
    const counter = createTallyCounter();
    const outcomes = await warmPip(
      [
        { name: 'warm-beta', range: '' },
        { name: 'warm-does-not-exist', range: '' },
      ],
      { ...options, counter },
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false]);
    expect(outcomes[1]?.reason).toBeTruthy();
    expect(counter.attempts).toEqual({ npm: 0, pypi: 2, go: 0 });
    expect(counter.hits).toEqual({ npm: 0, pypi: 1, go: 0 });
    expect(log).toHaveLength(1);
  }, 60_000);

  it('publishes nothing when the file does not match the index hash', async () => {
    const { options } = fresh('tampered');
    const [outcome] = await warmPip([{ name: 'warm-tampered', range: '' }], options);
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toContain('HASH');
    expect(await readdir(options.sharedCache).catch(() => [])).toEqual([]);
  }, 60_000);

  it('publishes nothing when the METADATA names another distribution', async () => {
    const { options } = fresh('mislabelled');
    const [outcome] = await warmPip([{ name: 'warm-mislabelled', range: '' }], options);
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toContain('someone-else');
    expect(await readdir(options.sharedCache).catch(() => [])).toEqual([]);
  }, 60_000);

  it('never builds a source distribution, so no setup.py runs', async () => {
    const { options } = fresh('sdist');
    const [outcome] = await warmPip([{ name: 'warm-source-only', range: '' }], options);
    expect(outcome?.ok).toBe(false);
    expect(existsSync(sdistTrace)).toBe(false);
    expect(await readdir(options.sharedCache).catch(() => [])).toEqual([]);
  }, 60_000);

  it('never replaces a different file of the same name in the shared folder', async () => {
    const { options } = fresh('no-overwrite');
    await mkdir(options.sharedCache, { recursive: true });
    const squatter = join(options.sharedCache, 'warm_beta-2.0-py3-none-any.whl');
    await writeFile(squatter, 'not this wheel');
    const [outcome] = await warmPip([{ name: 'warm-beta', range: '' }], options);
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toContain('different file');
    expect(await readFile(squatter, 'utf8')).toBe('not this wheel');
    expect(await readdir(options.sharedCache)).toEqual(['warm_beta-2.0-py3-none-any.whl']);
  }, 60_000);

  it('counts an identical wheel already in the folder as warm without writing it again', async () => {
    const { options } = fresh('present');
    const [first] = await warmPip([{ name: 'warm-beta', range: '' }], options);
    const [second] = await warmPip([{ name: 'warm-beta', range: '' }], options);
    expect([first?.published, second?.published]).toEqual([1, 0]);
    expect(second?.ok).toBe(true);
  }, 60_000);

  it('never fetches a URL or path requirement, and never starts pip for one', async () => {
    const { options, log } = fresh('not-index');
    const trace = join(scratch, 'python-ran');
    const fakePython = join(scratch, 'fake-python');
    await writeFile(fakePython, `#!/bin/sh\ntouch '${trace}'\n`, { mode: 0o755 });
    const outcomes = await warmPip(
      [
        { name: 'evil', range: 'git+https://example.com/evil' },
        { name: '-r', range: '' },
      ],
      { ...options, python: fakePython },
    );
    expect(outcomes.map((o) => o.ok)).toEqual([false, false]);
    expect(log).toHaveLength(2);
    expect(existsSync(trace)).toBe(false);
  });

  it('gives up on a distribution when pip exceeds the timeout', async () => {
    const { options } = fresh('timeout');
    const [outcome] = await warmPip([{ name: 'warm-beta', range: '' }], { ...options, timeoutMs: 1 });
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toContain('timed out');
  });
});
