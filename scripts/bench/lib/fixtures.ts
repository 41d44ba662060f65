/**
 * Inputs of the benches, built once and cached under CACHE_DIR so reruns are offline:
 * - successive published versions of ajv (npm pack), for the edit replay;
 * - a large installed dependency tree (npm install), for the initial sync;
 * - a generated 100,000-file git repository with two branches, for the idle and checkout bench;
 * - a generated 100,000-file, 1 GB tree of sources and larger files, for the initial sync.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './procs.ts';
import { CACHE_DIR } from './trees.ts';

/** The replayed package: ajv 8.x, ~470 files of JS, TypeScript and maps per version. */
export const REPLAY_PACKAGE = 'ajv';
export const REPLAY_VERSIONS = [
  '8.0.0', '8.0.1', '8.0.2', '8.0.3', '8.0.4', '8.0.5', '8.1.0', '8.2.0', '8.3.0', '8.4.0', '8.5.0',
  '8.6.0', '8.6.1', '8.6.2', '8.6.3', '8.7.0', '8.7.1', '8.8.0', '8.8.1', '8.8.2', '8.9.0', '8.10.0',
  '8.11.0', '8.11.1', '8.11.2', '8.12.0', '8.13.0', '8.14.0', '8.15.0', '8.16.0', '8.17.1', '8.18.0',
  '8.20.0',
]; // biome-ignore format: one version list

/** Unpacked folders of the given versions, in order (downloads only what is not cached). */
export async function replayVersions(versions: readonly string[]): Promise<string[]> {
  const tarballs = join(CACHE_DIR, `${REPLAY_PACKAGE}-tarballs`);
  const unpacked = join(CACHE_DIR, `${REPLAY_PACKAGE}-versions`);
  mkdirSync(tarballs, { recursive: true });
  mkdirSync(unpacked, { recursive: true });
  const missing = versions.filter((v) => !existsSync(join(tarballs, `${REPLAY_PACKAGE}-${v}.tgz`)));
  if (missing.length > 0) {
    console.error(`fetching ${missing.length} ${REPLAY_PACKAGE} tarball(s) with npm pack`);
    await run(['npm', 'pack', '--silent', ...missing.map((v) => `${REPLAY_PACKAGE}@${v}`)], {
      cwd: tarballs,
    });
  }
  const out: string[] = [];
  for (const v of versions) {
    const folder = join(unpacked, v);
    if (!existsSync(join(folder, 'package'))) {
      rmSync(folder, { recursive: true, force: true });
      mkdirSync(folder, { recursive: true });
      await run(['tar', 'xzf', join(tarballs, `${REPLAY_PACKAGE}-${v}.tgz`), '-C', folder]);
    }
    out.push(join(folder, 'package'));
  }
  return out;
}

/** Packages whose installed tree is ~12,800 files and ~150 MB on disk (~115 MB of content). */
export const INSTALL_PACKAGES = [
  'typescript@7.0.2',
  '@babel/core@7.29.13',
  '@babel/preset-env@7.29.14',
  'eslint@10.15.0',
  'webpack@5.112.2',
  'rxjs@7.8.2',
  'lodash@4.18.1',
  'moment@2.31.0',
  'three@0.187.0',
];

/** The installed `node_modules` folder of INSTALL_PACKAGES. */
export async function installedTree(): Promise<string> {
  const folder = join(CACHE_DIR, 'install-tree');
  const done = join(folder, '.complete');
  if (!existsSync(done)) {
    console.error('installing the dependency tree for the initial-sync bench (npm install, once)');
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'package.json'), '{"name":"warmsync-bench-tree","private":true}\n');
    await run(['npm', 'install', '--no-audit', '--no-fund', '--ignore-scripts', ...INSTALL_PACKAGES], {
      cwd: folder,
    });
    writeFileSync(done, '');
  }
  return join(folder, 'node_modules');
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so every run builds the same tree. */
function randomGenerator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic pseudo-random source text, so every run builds the same tree. */
function textGenerator(seed: number): (bytes: number) => string {
  const next = randomGenerator(seed);
  const words = [
    'const',
    'value',
    'return',
    'export',
    'function',
    'await',
    'items',
    'index',
    'map',
    'config',
  ];
  return (bytes) => {
    let out = '';
    while (out.length < bytes) {
      out += `  ${words[Math.floor(next() * words.length)]}_${Math.floor(next() * 1000)} = ${Math.floor(next() * 1e6)};\n`;
    }
    return out;
  };
}

export interface CheckoutRepo {
  /** A git repository with branches `a` and `b`, `a` checked out. */
  path: string;
  files: number;
  changedFiles: number;
}

/**
 * A git repository of `files` small source files in 3 levels of folders (100 files a folder),
 * with branch `b` rewriting `changed` of them. Built once per size and cached.
 */
export async function checkoutRepo(files: number, changed: number): Promise<CheckoutRepo> {
  const path = join(CACHE_DIR, `checkout-repo-${files}-${changed}`);
  if (existsSync(`${path}.complete`)) return { path, files, changedFiles: changed };
  console.error(`generating a ${files}-file git repository (once)`);
  const building = `${path}.building`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const text = textGenerator(42);
  const names: string[] = [];
  for (let i = 0; i < files; i++) {
    const folder = `pkg${Math.floor(i / 10_000)}/mod${Math.floor(i / 1000) % 10}/part${Math.floor(i / 100) % 10}`;
    names.push(`${folder}/file${i % 100}.ts`);
  }
  for (const [i, name] of names.entries()) {
    if (i % 100 === 0) mkdirSync(join(building, name, '..'), { recursive: true });
    writeFileSync(join(building, name), text(200 + ((i * 37) % 800)));
  }
  const git = (...args: string[]) =>
    run(['git', '-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'gc.auto=0', ...args], {
      cwd: building,
    });
  await git('init', '-q', '-b', 'a');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'a');
  await git('checkout', '-q', '-b', 'b');
  const step = Math.floor(files / changed);
  for (let k = 0; k < changed; k++) writeFileSync(join(building, names[k * step]!), text(300 + (k % 700)));
  await git('commit', '-q', '-am', 'b');
  await git('checkout', '-q', 'a');
  // Packed now, in the foreground: a background auto-gc would race with copies of the repository.
  await git('gc', '-q');
  await git('config', 'gc.auto', '0');
  rmSync(path, { recursive: true, force: true });
  renameSync(building, path);
  // The marker sits beside the repository, not in it, so it never becomes part of the synced tree.
  writeFileSync(`${path}.complete`, '');
  return { path, files, changedFiles: changed };
}

export interface GeneratedTree {
  path: string;
  files: number;
  bytes: number;
}

/**
 * A project-like tree of `files` files, built once per size from a fixed seed and cached: source
 * files of 0.2 to 10 KB, 100 to a folder, and one in 400 a larger file of 100 KB to 10 MB (most
 * near the small end), half of them text and half incompressible bytes (images, archives, native
 * binaries). At 100,000 files it holds about 1 GB.
 */
export function generatedTree(files: number): GeneratedTree {
  const path = join(CACHE_DIR, `generated-tree-${files}`);
  const marker = `${path}.complete`;
  if (existsSync(marker)) return { path, files, ...JSON.parse(readFileSync(marker, 'utf8')) };
  console.error(`generating a ${files}-file tree for the initial-sync bench (once)`);
  const building = `${path}.building`;
  rmSync(building, { recursive: true, force: true });
  const next = randomGenerator(7);
  const text = textGenerator(11);
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const folder = join(
      building,
      `pkg${Math.floor(i / 10_000)}`,
      `mod${Math.floor(i / 1000) % 10}`,
      `part${Math.floor(i / 100) % 10}`,
    );
    if (i % 100 === 0) mkdirSync(folder, { recursive: true });
    let content: string | Uint8Array;
    let name: string;
    if (i % 400 === 199) {
      const size = 100 * 1024 + Math.floor(next() ** 4 * 9.9 * 1024 * 1024);
      if (i % 800 === 199) {
        name = `asset${i % 100}.bin`;
        content = randomBytes(next, size);
      } else {
        name = `bundle${i % 100}.js`;
        content = text(size);
      }
    } else {
      name = `file${i % 100}.ts`;
      content = text(200 + Math.floor(next() * 9800));
    }
    writeFileSync(join(folder, name), content);
    bytes += typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  }
  rmSync(path, { recursive: true, force: true });
  renameSync(building, path);
  // Beside the tree, not in it, so that it never becomes part of the synced files.
  writeFileSync(marker, JSON.stringify({ bytes }));
  return { path, files, bytes };
}

/** `size` incompressible bytes. */
function randomBytes(next: () => number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = (next() * 4294967296) >>> 0;
  for (let i = words.length * 4; i < size; i++) out[i] = Math.floor(next() * 256);
  return out;
}
