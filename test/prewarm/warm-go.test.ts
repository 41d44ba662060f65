import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTallyCounter } from '../../src/prewarm/counter.ts';
import { parseGoSum } from '../../src/prewarm/go-sum.ts';
import { type GoWarmOptions, warmGo } from '../../src/prewarm/warm-go.ts';
import { addModule, proxyUrl } from './go-proxy.ts';

const run = promisify(execFile);
let scratch: string;
let proxy: string;
/** go without this machine's Go settings, checksum database off (the proxy is a local folder). */
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'warmsync-warm-go-'));
  proxy = join(scratch, 'proxy');
  env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GO'))),
    GOSUMDB: 'off',
    GOCACHE: join(scratch, 'gocache'),
    GOPATH: join(scratch, 'gopath'),
  };
  await addModule(proxy, 'example.com/warmgo', 'v1.0.0');
  await addModule(proxy, 'example.com/warmgo', 'v1.1.0');
  await addModule(proxy, 'example.com/other', 'v0.2.0');
}, 60_000);

afterAll(async () => {
  await run('chmod', ['-R', 'u+w', scratch]).catch(() => undefined);
  await rm(scratch, { recursive: true, force: true });
});

function fresh(name: string): { options: GoWarmOptions; log: string[] } {
  const log: string[] = [];
  const root = join(scratch, name);
  return {
    log,
    options: {
      sharedCache: join(root, 'mod'),
      workRoot: join(root, 'runs'),
      counter: createTallyCounter(),
      log: (message) => log.push(message),
      goproxy: proxyUrl(proxy),
      env,
    },
  };
}

/** A program importing example.com/warmgo at `version`, built with the network off. */
async function buildOffline(modCache: string, version: string, goSum = ''): Promise<string> {
  const project = await mkdtemp(join(scratch, 'project-'));
  await writeFile(
    join(project, 'go.mod'),
    `module example.com/app\n\ngo 1.19\n\nrequire example.com/warmgo ${version}\n`,
  );
  await writeFile(join(project, 'go.sum'), goSum);
  await writeFile(
    join(project, 'main.go'),
    'package main\n\nimport (\n\t"fmt"\n\t"example.com/warmgo"\n)\n\nfunc main() { fmt.Println(warmgo.Version) }\n',
  );
  const offline = { ...env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOMODCACHE: modCache };
  await run('go', ['build', '-o', 'app', '.'], { cwd: project, env: offline });
  const { stdout } = await run(join(project, 'app'));
  return stdout.trim();
}

describe('warmGo', () => {
  it('fills the shared module cache so go builds offline from it', async () => {
    const { options } = fresh('basic');
    const outcomes = await warmGo([{ path: 'example.com/warmgo', version: 'v1.0.0' }], options);
    expect(outcomes).toEqual([{ spec: 'example.com/warmgo@v1.0.0', ok: true, published: 4 }]);
    expect(await buildOffline(options.sharedCache, 'v1.0.0')).toBe('v1.0.0');
    const { stdout } = await run('go', ['list', '-m', '-json', 'example.com/warmgo@v1.0.0'], {
      env: { ...env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOMODCACHE: options.sharedCache },
      cwd: scratch,
    });
    expect(JSON.parse(stdout).Version).toBe('v1.0.0');
    // The run's module cache, which go leaves read-only, is gone too.
    expect(await readdir(options.workRoot)).toEqual([]);
  }, 60_000);

  it('resolves an empty version to the latest one', async () => {
    const { options } = fresh('latest');
    const [outcome] = await warmGo([{ path: 'example.com/warmgo', version: '' }], options);
    expect(outcome).toMatchObject({ spec: 'example.com/warmgo@v1.1.0', ok: true });
  }, 60_000);

  it('counts attempts and hits, and logs a failure instead of throwing', async () => {
    const { options, log } = fresh('counting');
    const counter = createTallyCounter();
    const outcomes = await warmGo(
      [
        { path: 'example.com/other', version: 'v0.2.0' },
        { path: 'example.com/absent', version: 'v1.0.0' },
      ],
      { ...options, counter },
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false]);
    expect(outcomes[1]?.reason).toContain('example.com/absent');
    expect(counter.attempts).toEqual({ npm: 0, pypi: 0, go: 2 });
    expect(counter.hits).toEqual({ npm: 0, pypi: 0, go: 1 });
    expect(log).toHaveLength(1);
  }, 60_000);

  it('publishes nothing when the workspace go.sum lists another hash', async () => {
    const { options } = fresh('go-sum');
    const sums = parseGoSum('example.com/warmgo v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n');
    const [outcome] = await warmGo([{ path: 'example.com/warmgo', version: 'v1.0.0' }], { ...options, sums });
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toContain('go.sum lists');
    expect(existsSync(options.sharedCache)).toBe(false);
  }, 60_000);

  it('accepts a module whose hashes match the go.sum, which the offline build then checks too', async () => {
    const { options } = fresh('go-sum-match');
    const [first] = await warmGo([{ path: 'example.com/warmgo', version: 'v1.0.0' }], fresh('probe').options);
    expect(first?.ok).toBe(true);
    const download = join(scratch, 'probe', 'mod', 'cache', 'download', 'example.com', 'warmgo', '@v');
    const zipSum = (await readFile(join(download, 'v1.0.0.ziphash'), 'utf8')).trim();
    const { goModHash } = await import('../../src/prewarm/go-sum.ts');
    const modSum = goModHash(await readFile(join(download, 'v1.0.0.mod')));
    const goSum = `example.com/warmgo v1.0.0 ${zipSum}\nexample.com/warmgo v1.0.0/go.mod ${modSum}\n`;
    const [outcome] = await warmGo([{ path: 'example.com/warmgo', version: 'v1.0.0' }], {
      ...options,
      sums: parseGoSum(goSum),
    });
    expect(outcome?.ok).toBe(true);
    expect(await buildOffline(options.sharedCache, 'v1.0.0', goSum)).toBe('v1.0.0');
  }, 60_000);

  it('never replaces a different file of the same name in the shared cache', async () => {
    const { options } = fresh('no-overwrite');
    const at = join(options.sharedCache, 'cache', 'download', 'example.com', 'warmgo', '@v');
    await mkdir(at, { recursive: true });
    await writeFile(join(at, 'v1.0.0.mod'), 'module example.com/elsewhere\n');
    const [outcome] = await warmGo([{ path: 'example.com/warmgo', version: 'v1.0.0' }], options);
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toContain('different file');
    expect(await readFile(join(at, 'v1.0.0.mod'), 'utf8')).toBe('module example.com/elsewhere\n');
  }, 60_000);

  it('never starts go for a replacement path or an option', async () => {
    const { options, log } = fresh('not-module');
    const trace = join(scratch, 'go-ran');
    const fakeGo = join(scratch, 'fake-go');
    await writeFile(fakeGo, `#!/bin/sh\ntouch '${trace}'\n`, { mode: 0o755 });
    const outcomes = await warmGo(
      [
        { path: 'example.com/local', version: '../local' },
        { path: '-modfile=/etc/passwd', version: 'v1.0.0' },
      ],
      { ...options, go: fakeGo },
    );
    expect(outcomes.map((o) => o.ok)).toEqual([false, false]);
    expect(log).toHaveLength(2);
    expect(existsSync(trace)).toBe(false);
  });

  it('gives up on a module when go exceeds the timeout', async () => {
    const { options } = fresh('timeout');
    const [outcome] = await warmGo([{ path: 'example.com/warmgo', version: 'v1.0.0' }], {
      ...options,
      timeoutMs: 1,
    });
    expect(outcome?.ok).toBe(false);
    expect(outcome?.reason).toContain('timed out');
  });
});
