/**
 * npm projects for the snapshot and install tests: packages published to a real registry
 * (verdaccio on loopback), projects installed from it once by the real npm for their lockfile,
 * and checkouts of those projects without node_modules, as a fresh clone would be.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/harness.ts';
import { startRegistry, type TestRegistry } from './npm-registry.ts';

const run = promisify(execFile);

export interface PackageOptions {
  dependencies?: Record<string, string>;
  /** package.json scripts (`postinstall`...). */
  scripts?: Record<string, string>;
}

export interface NpmFixture {
  registry: TestRegistry;
  /** A scratch folder for the test file. */
  home: string;
  /** The npm cache every project was installed with: it holds their tarballs. */
  npmCache: string;
  /** Publishes a package with an executable `bin`, a file spanning several chunks, and `options`. */
  publish(name: string, version: string, options?: PackageOptions): Promise<void>;
  /**
   * A project depending on `dependencies`, installed with npm (scripts off) to get its lockfile;
   * it holds package.json, package-lock.json, an .npmrc naming the registry, and node_modules.
   */
  makeProject(dependencies: Record<string, string>, scripts?: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

export async function startNpmFixture(): Promise<NpmFixture> {
  const registry = await startRegistry();
  const home = tempDir('warmsync-npm-fixture-');
  const npmCache = join(home, 'npm-cache');
  return {
    registry,
    home,
    npmCache,
    async publish(name, version, options = {}) {
      const folder = join(home, 'packages', `${name}-${version}`);
      mkdirSync(join(folder, 'lib'), { recursive: true });
      writeFileSync(
        join(folder, 'package.json'),
        JSON.stringify({
          name,
          version,
          main: 'lib/index.js',
          bin: { [name]: 'cli.js' },
          dependencies: options.dependencies ?? {},
          scripts: options.scripts ?? {},
        }),
      );
      writeFileSync(
        join(folder, 'lib', 'index.js'),
        `module.exports = ${JSON.stringify(`${name}@${version}`)};\n`,
      );
      // Incompressible bytes larger than a chunk, so the package spans several chunks.
      const big = Buffer.alloc(300 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761 + version.length * 7919) >>> 24;
      writeFileSync(join(folder, 'lib', 'data.bin'), big);
      writeFileSync(join(folder, '.gitignore'), 'build/\n');
      writeFileSync(join(folder, 'cli.js'), `#!/usr/bin/env node\nconsole.log(require('./lib'));\n`, {
        mode: 0o755,
      });
      await run(
        'npm',
        ['publish', '--registry', registry.url, '--userconfig', registry.userconfig, '--loglevel=error'],
        { cwd: folder },
      );
    },
    async makeProject(dependencies, scripts = {}) {
      const dir = mkdtempSync(join(home, 'project-'));
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'app', version: '1.0.0', scripts, dependencies }),
      );
      writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}\n`);
      await run(
        'npm',
        ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', '--cache', npmCache],
        { cwd: dir },
      );
      return dir;
    },
    stop: () => registry.stop(),
  };
}

/** A copy of `source` without node_modules (its package.json, lockfile and .npmrc), as a fresh checkout would be. */
export function checkoutOf(source: string): string {
  const dir = tempDir('warmsync-checkout-');
  for (const name of ['package.json', 'package-lock.json', '.npmrc'])
    if (existsSync(join(source, name))) cpSync(join(source, name), join(dir, name));
  return dir;
}
