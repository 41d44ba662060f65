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
  const renamed = dot > 0 ? `${name.slice(0, dot)}.${tag}${name.slice(dot)}` : `${name}.${tag}`;
  return dir === '' ? renamed : `${dir}/${renamed}`;
}
