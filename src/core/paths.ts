/**
 * Workspace paths: relative, '/'-separated, normalised. Every path that crosses a trust boundary
 * (a request, a message, a directory listing) is checked here before anything touches a disk.
 */

export type PathProblemCode =
  | 'empty'
  | 'too-long'
  | 'nul'
  | 'backslash'
  | 'absolute'
  | 'dot-segment'
  | 'empty-segment'
  | 'drive-letter'
  | 'control-char'
  | 'lone-surrogate'
  | 'git-dir'
  | 'reserved';

export type PathCheck = { ok: true; path: string } | { ok: false; code: PathProblemCode; reason: string };

export interface PathRules {
  /** Whether paths under a `.git` folder may sync (off by default). */
  allowGit: boolean;
}

const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
/** Name prefix of the agent's own temporary files; they must never sync. */
export const TEMP_FILE_PREFIX = '.warmsync-tmp-';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * UTF-8 length without allocating: every path of a 20,000-file push is checked, so this is hot.
 * Matches TextEncoder for well-formed text (a lone surrogate counts as the 3 bytes of U+FFFD).
 */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: one code point of 4 bytes.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Checks that `path` is a safe workspace-relative path.
 * Invariant on success: joining it under a root can only name something inside that root
 * (no '..', no absolute part, no separators other than '/').
 */
export function checkRelativePath(path: string, rules: PathRules = { allowGit: false }): PathCheck {
  const fail = (code: PathProblemCode, reason: string): PathCheck => ({ ok: false, code, reason });
  if (path.length === 0) return fail('empty', 'path is empty');
  if (path.length > MAX_PATH_BYTES / 3 && utf8Length(path) > MAX_PATH_BYTES)
    return fail('too-long', 'path is longer than 4096 bytes');
  if (path.includes('\0')) return fail('nul', 'path contains a NUL byte');
  if (path.includes('\\')) return fail('backslash', 'path contains a backslash');
  if (path.startsWith('/')) return fail('absolute', 'path is absolute');
  if (/^[A-Za-z]:/.test(path)) return fail('drive-letter', 'path starts with a drive letter');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) return fail('control-char', 'path contains a control character');
  // Half of a UTF-16 surrogate pair is no character: UTF-8 (SQLite's text, Linux file names) has
  // no bytes for it and writes U+FFFD instead, so the path stored or written would not be the path
  // pushed, and two such paths would be one file.
  if (LONE_SURROGATE.test(path))
    return fail('lone-surrogate', 'path is not valid Unicode (a lone surrogate)');
  for (const segment of path.split('/')) {
    if (segment === '') return fail('empty-segment', "path has an empty segment ('//' or a trailing '/')");
    if (segment === '.' || segment === '..') return fail('dot-segment', "path has a '.' or '..' segment");
    if (segment.length > MAX_SEGMENT_BYTES / 3 && utf8Length(segment) > MAX_SEGMENT_BYTES)
      return fail('too-long', 'a path segment is over 255 bytes');
    if (segment.startsWith(TEMP_FILE_PREFIX)) return fail('reserved', 'path names a warmsync temporary file');
    // Case-insensitive: on macOS and Windows '.GIT' is the same folder as '.git'.
    if (segment.toLowerCase() === '.git' && !rules.allowGit)
      return fail('git-dir', 'paths under .git/ do not sync');
  }
  return { ok: true, path };
}

/**
 * The key under which two paths collide on a case-insensitive, normalising filesystem (macOS):
 * Unicode NFC, then lower case. Two different paths with one key must never overwrite each other.
 */
export function collisionKey(path: string): string {
  return path.normalize('NFC').toLowerCase();
}

/** The parent folder of a relative path, or '' for a top-level entry. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Number of segments: 'a' is 1, 'a/b' is 2. Used to order creations shallow-first. */
export function pathDepth(path: string): number {
  let depth = 1;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) depth++;
  return depth;
}

/** Every proper ancestor folder of a path, shallowest first: 'a/b/c' -> ['a', 'a/b']. */
export function ancestorPaths(path: string): string[] {
  const out: string[] = [];
  let slash = path.indexOf('/');
  while (slash >= 0) {
    out.push(path.slice(0, slash));
    slash = path.indexOf('/', slash + 1);
  }
  return out;
}
