/**
 * Workspace paths: relative, '/'-separated, normalised. Every path that crosses a trust boundary
 * (a request, a message, a directory listing) is checked here before anything touches a disk.
 */

export type PathProblemCode =
  | 'empty'
  | 'too-long'
  | 'too-deep'
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
  /**
   * Whether a path may be nested deeper than MAX_PATH_DEPTH: only where messages are read, so
   * that an entry a hub stored before the bound existed is refused on its own, not its whole page.
   */
  anyDepth?: boolean;
}

const MAX_PATH_BYTES = 4096;
/**
 * The most names a path may have ('a/b' has 2). Bun's recursive watcher reports each folder of a
 * chain made below a watched folder once for every folder above it that it registers on the way:
 * a chain of 800 folders came as 85,000 events over 10 s, and every other event of the tree,
 * a user's edit included, waited behind them. At 128 names it is about 5,000 events, and real
 * projects nest far less deep.
 */
export const MAX_PATH_DEPTH = 128;
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
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') return fail('empty-segment', "path has an empty segment ('//' or a trailing '/')");
    if (segment === '.' || segment === '..') return fail('dot-segment', "path has a '.' or '..' segment");
    if (segment.length > MAX_SEGMENT_BYTES / 3 && utf8Length(segment) > MAX_SEGMENT_BYTES)
      return fail('too-long', 'a path segment is over 255 bytes');
    if (segment.startsWith(TEMP_FILE_PREFIX)) return fail('reserved', 'path names a warmsync temporary file');
    // Case-insensitive: on macOS and Windows '.GIT' is the same folder as '.git'.
    if (segment.toLowerCase() === '.git' && !rules.allowGit)
      return fail('git-dir', 'paths under .git/ do not sync');
  }
  if (segments.length > MAX_PATH_DEPTH && !rules.anyDepth)
    return fail('too-deep', `path is nested more than ${MAX_PATH_DEPTH} names deep`);
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
