/**
 * The files of an npm package tarball, laid out as npm's own extraction (pacote) lays them out:
 * - the first path segment (`package/`) is stripped, and entries without a second one skipped;
 * - only regular files are kept: links, folders and devices are skipped (folders are made as
 *   files need them), so a package can never plant a link;
 * - a file's permission bits are at least `rw-rw-rw-` plus the execute bits the tarball gives
 *   (the umask applies when written), never set-user-ID or sticky;
 * - `.gitignore` becomes `.npmignore`, unless a `.npmignore` came before it;
 * - paths with a `..` segment or that fail the sync path rules are skipped, as tar drops them.
 *
 * Pure apart from gunzip: bytes in, files out. Callers check the tarball's integrity first.
 */
import { gunzipSync } from 'node:zlib';
import { checkRelativePath } from '../core/paths.ts';

/** One file of a package, relative to the package's folder. */
export interface TarballFile {
  path: string;
  /** Permission bits before the umask: `(tar mode | 0o666) & 0o777`. */
  mode: number;
  data: Uint8Array;
}

/** A tarball that cannot be read. */
export class TarballError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarballError';
  }
}

/** Unpacked bytes of one tarball, at most: past it the package is refused, not unpacked. */
const MAX_UNPACKED_BYTES = 1024 * 1024 * 1024;
const BLOCK = 512;
const decoder = new TextDecoder();

/** A NUL-terminated text field of a header. */
function text(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** An octal number field, or a base-256 one (high bit set) as GNU tar writes large sizes. */
function number(block: Uint8Array, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if ((field[0] ?? 0) & 0x80) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const digits = text(block, offset, length).trim();
  const value = digits === '' ? 0 : Number.parseInt(digits, 8);
  if (!Number.isSafeInteger(value) || value < 0) throw new TarballError('a tar header holds a bad number');
  return value;
}

function checksumMatches(block: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return sum === number(block, 148, 8);
}

/** `len key=value\n` records of a pax header. */
function paxRecords(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  const all = decoder.decode(data);
  let at = 0;
  while (at < all.length) {
    const space = all.indexOf(' ', at);
    const length = Number.parseInt(all.slice(at, space), 10);
    if (space < 0 || !Number.isSafeInteger(length) || length <= 0) break;
    // The length counts bytes; records are ASCII in practice, and a miscount only ends the parse.
    const record = all.slice(space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

/** The package-relative path of a tar entry's name, or undefined when npm would not extract it. */
function packagePath(name: string): string | undefined {
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length < 2 || segments.includes('..')) return undefined;
  const path = segments.slice(1).join('/');
  return checkRelativePath(path, { allowGit: true }).ok ? path : undefined;
}

/**
 * The files of the gzipped tarball `tgz`, in tarball order (a later entry for the same path
 * replaces an earlier one when written). Throws TarballError when it cannot be read.
 *
 * @example
 * packageFiles(await Bun.file('alpha-1.0.0.tgz').bytes());
 * // [{ path: 'package.json', mode: 0o666, data: ... }, { path: 'cli.js', mode: 0o777, ... }]
 */
export function packageFiles(tgz: Uint8Array): TarballFile[] {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(tgz, { maxOutputLength: MAX_UNPACKED_BYTES });
  } catch (error) {
    throw new TarballError(`the tarball does not unpack: ${(error as Error).message}`);
  }
  const files: TarballFile[] = [];
  const sawNpmignore = new Set<string>();
  let longName: string | undefined;
  let pax = new Map<string, string>();
  let at = 0;
  while (at + BLOCK <= tar.length) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((byte) => byte === 0)) break; // end of archive
    if (!checksumMatches(header)) throw new TarballError(`bad tar header checksum at byte ${at}`);
    const type = String.fromCharCode(header[156] ?? 0);
    const size = Number(pax.get('size') ?? number(header, 124, 12));
    const start = at + BLOCK;
    if (start + size > tar.length) throw new TarballError('the tarball ends inside an entry');
    const data = tar.subarray(start, start + size);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      pax = paxRecords(data);
      continue;
    }
    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    if (type === 'g' || type === 'K') continue;
    const magic = text(header, 257, 6);
    const prefix = magic === 'ustar' && header[262] === 0 ? text(header, 345, 155) : '';
    const ustarName = prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100);
    const name = pax.get('path') ?? longName ?? ustarName;
    const mode = number(header, 100, 8);
    longName = undefined;
    pax = new Map();
    if (type !== '0' && type !== '\0' && type !== '7') continue; // not a regular file
    let path = packagePath(name);
    if (path === undefined) continue;
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base === '.npmignore') sawNpmignore.add(path);
    else if (base === '.gitignore') {
      const renamed = `${path.slice(0, -'.gitignore'.length)}.npmignore`;
      if (sawNpmignore.has(renamed)) continue;
      path = renamed;
    }
    files.push({ path, mode: (mode | 0o666) & 0o777, data });
  }
  return files;
}
