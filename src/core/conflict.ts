/**
 * Where the losing side of a conflict is kept: beside the original, named so a person sees at a
 * glance what it is, which agent made it and which version it holds.
 */
import { parentPath } from './paths.ts';

/**
 * `dir/NAME.conflict-<agent>-<shorthash>.EXT`. The extension stays last so editors still know the
 * file type; dotfiles and extensionless names get the suffix at the end.
 *
 * @example conflictCopyPath('src/app.ts', 'a1b2', 'ff00aa11...') // 'src/app.conflict-a1b2-ff00aa11.ts'
 */
export function conflictCopyPath(path: string, agentId: string, contentHash: string): string {
  const dir = parentPath(path);
  const name = dir === '' ? path : path.slice(dir.length + 1);
  const dot = name.lastIndexOf('.');
  const tag = `conflict-${agentId}-${contentHash.slice(0, 8)}`;
  let stem = dot > 0 ? name.slice(0, dot) : name;
  let extension = dot > 0 ? name.slice(dot) : '';
  // Most filesystems take names of 255 bytes at most: a long name gives up the end of its stem
  // (then of its extension) rather than lose the copy.
  const room = NAME_MAX_BYTES - utf8Length(`.${tag}`);
  while (utf8Length(stem) + utf8Length(extension) > room) {
    if (utf8Length(stem) > 1) stem = dropLastCodePoint(stem);
    else extension = dropLastCodePoint(extension);
  }
  const renamed = `${stem}.${tag}${extension}`;
  return dir === '' ? renamed : `${dir}/${renamed}`;
}

/** The longest file name, in bytes, that common filesystems (ext4, APFS, NTFS in UTF-8) accept. */
const NAME_MAX_BYTES = 255;

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

function dropLastCodePoint(text: string): string {
  return Array.from(text).slice(0, -1).join('');
}
