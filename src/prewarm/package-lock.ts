/**
 * What a package-lock.json (npm 7 and later: `lockfileVersion` 2 or 3) says npm ci places in
 * node_modules: every package's folder, the sha512 its tarball must have, and the links of its
 * executables. The lockfile is a synced file, so it is parsed here with zod where it enters. Pure.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { describeZodError } from '../core/protocol.ts';

/** One package of the lockfile, at its place in the tree. */
export interface LockedPackage {
  /** `node_modules/a`, `node_modules/@s/b`, `node_modules/a/node_modules/c`. */
  path: string;
  /** The sha512 SRI of its tarball (`sha512-<base64>`), when the lockfile gives one. */
  sha512: string | undefined;
  /** npm leaves it out where it does not apply (another OS or CPU) or fails to install. */
  optional: boolean;
  /** It arrives inside its parent's tarball (a bundled dependency) and has none of its own. */
  inBundle: boolean;
  /** A link to a folder (npm workspaces, `file:` folders), not a tarball. */
  link: boolean;
  /** npm saw install scripts in it (`preinstall`, `install`, `postinstall`, or a binding.gyp). */
  hasInstallScript: boolean;
  /** Executable name -> file inside the package, as npm normalises `bin`. */
  bin: Record<string, string>;
}

/** One link npm makes in a `.bin` folder for a package's executable. */
export interface BinLink {
  /** `node_modules/.bin/tsc`. */
  path: string;
  /** Relative to the link's folder: `../typescript/bin/tsc`. */
  target: string;
  /** The file it points at, made executable: `node_modules/typescript/bin/tsc`. */
  file: string;
}

const NAME = '[A-Za-z0-9~-][A-Za-z0-9._~-]*';
/** `node_modules/<name>` repeated, each name optionally scoped: the places npm puts packages. */
const PACKAGE_PATH = new RegExp(
  `^node_modules/(?:@${NAME}/)?${NAME}(?:/node_modules/(?:@${NAME}/)?${NAME})*$`,
);
const SHA512 = /^sha512-[A-Za-z0-9+/]{86}==$/;

/** True when `path` is a place npm ci puts a package. */
export function isPackagePath(path: string): boolean {
  return path.length <= 4096 && PACKAGE_PATH.test(path);
}

const entrySchema = z.object({
  name: z.string().optional(),
  integrity: z.string().optional(),
  link: z.boolean().optional(),
  inBundle: z.boolean().optional(),
  optional: z.boolean().optional(),
  hasInstallScript: z.boolean().optional(),
  bin: z.unknown().optional(),
});

const lockfileSchema = z.object({
  lockfileVersion: z.number().int().min(2, 'lockfiles older than npm 7 (version 1) are not read'),
  packages: z.record(z.string(), entrySchema),
});

/** The lockfile's packages, or one sentence saying why they cannot be read. */
export type LockfileRead = { ok: true; packages: LockedPackage[] } | { ok: false; reason: string };

/** The sha512 part of an SRI string that may list several hashes (`sha512-… sha1-…`). */
function sha512Of(integrity: string | undefined): string | undefined {
  return integrity?.split(/\s+/).find((token) => SHA512.test(token));
}

/** The last package name of a path: `node_modules/a/node_modules/@s/b` -> `@s/b`. */
function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/**
 * `bin` as npm-normalize-package-bin cleans it: a string is the package's one executable, an
 * array names executables after their files; names lose any folder, targets any `..` that would
 * leave the package.
 */
export function normaliseBin(bin: unknown, name: string): Record<string, string> {
  let pairs: Array<[string, unknown]> = [];
  if (typeof bin === 'string') pairs = [[name, bin]];
  else if (Array.isArray(bin)) pairs = bin.map((file) => [posix.basename(String(file)), file]);
  else if (bin && typeof bin === 'object') pairs = Object.entries(bin);
  const clean: Record<string, string> = {};
  for (const [key, value] of pairs) {
    const base = posix.join('/', posix.basename(key.replace(/\\|:/g, '/'))).slice(1);
    if (typeof value !== 'string' || !base) continue;
    const target = posix.join('/', value.replace(/\\/g, '/')).slice(1);
    if (target) clean[base] = target;
  }
  return clean;
}

/**
 * Reads the packages of a package-lock.json (the root entry `""` left out), in lockfile order.
 *
 * @example
 * readPackageLock(readFileSync('package-lock.json', 'utf8'));
 * // { ok: true, packages: [{ path: 'node_modules/zod', sha512: 'sha512-…', bin: {}, … }] }
 */
export function readPackageLock(text: string): LockfileRead {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'package-lock.json is not JSON' };
  }
  const parsed = lockfileSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `package-lock.json: ${describeZodError(parsed.error)}` };
  const packages: LockedPackage[] = [];
  for (const [path, entry] of Object.entries(parsed.data.packages)) {
    if (path === '') continue;
    if (!isPackagePath(path))
      return {
        ok: false,
        reason: `package-lock.json places a package at ${path.slice(0, 200)} (npm workspaces?)`,
      };
    packages.push({
      path,
      sha512: sha512Of(entry.integrity),
      optional: entry.optional ?? false,
      inBundle: entry.inBundle ?? false,
      link: entry.link ?? false,
      hasInstallScript: entry.hasInstallScript ?? false,
      bin: normaliseBin(entry.bin, entry.name ?? nameOf(path)),
    });
  }
  return { ok: true, packages };
}

/**
 * The `.bin` links npm makes for the packages at `installed` (paths), as bin-links does: in the
 * `.bin` folder of the `node_modules` that holds the package, relative, the first package to
 * claim a name keeping it. `hasFile` says whether the target exists: npm skips missing ones.
 */
export function binLinks(
  packages: readonly LockedPackage[],
  installed: ReadonlySet<string>,
  hasFile: (path: string) => boolean,
): BinLink[] {
  const links = new Map<string, BinLink>();
  for (const pkg of packages) {
    if (!installed.has(pkg.path)) continue;
    const parent = posix.dirname(pkg.path);
    const nodeModules = posix.basename(parent) === 'node_modules' ? parent : posix.dirname(parent);
    for (const [name, file] of Object.entries(pkg.bin)) {
      const path = `${nodeModules}/.bin/${name}`;
      const target = posix.join(pkg.path, file);
      if (links.has(path) || !hasFile(target)) continue;
      links.set(path, { path, target: posix.relative(posix.dirname(path), target), file: target });
    }
  }
  return [...links.values()];
}
