/**
 * A real npm registry for tests: verdaccio on a free loopback port with temporary storage and no
 * uplinks, plus a user and an npmrc holding its token, so the real `npm` can publish and fetch.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const verdaccioBin = join(import.meta.dir, '../../node_modules/verdaccio/bin/verdaccio');

/** A running registry. */
export interface TestRegistry {
  url: string;
  /** An npmrc with the registry's auth token. */
  userconfig: string;
  /** Publishes a minimal package `name@version` with the real npm. */
  publish(name: string, version: string): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode}`);
    const up = await fetch(`${url}-/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('verdaccio did not start within 30 s');
}

/** Starts verdaccio; call `stop()` in afterAll. */
export async function startRegistry(): Promise<TestRegistry> {
  const home = await mkdtemp(join(tmpdir(), 'warmsync-registry-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const config = join(home, 'config.yaml');
  await writeFile(
    config,
    [
      `storage: ${join(home, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(home, 'htpasswd')}`,
      '    max_users: 10',
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      'log: { type: stdout, format: pretty, level: error }',
    ].join('\n'),
  );
  const child = spawn('node', [verdaccioBin, '--config', config, '--listen', `127.0.0.1:${port}`], {
    stdio: 'ignore',
  });
  await waitUntilUp(url, child);
  const response = await fetch(`${url}-/user/org.couchdb.user:tester`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'tester', password: 'test-password-1' }),
  });
  const { token } = (await response.json()) as { token: string };
  const userconfig = join(home, 'npmrc');
  await writeFile(userconfig, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  return {
    url,
    userconfig,
    async publish(name, version) {
      const folder = join(home, 'packages', `${name}-${version}`);
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
      await writeFile(
        join(folder, 'index.js'),
        `module.exports = ${JSON.stringify(`${name}@${version}`)};\n`,
      );
      await run('npm', ['publish', '--registry', url, '--userconfig', userconfig, '--loglevel=error'], {
        cwd: folder,
      });
    },
    async stop() {
      child.kill('SIGTERM');
      await rm(home, { recursive: true, force: true });
    },
  };
}
