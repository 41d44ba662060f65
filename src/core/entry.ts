/**
 * What a path holds, independent of where it is stored. The server's manifest, the agent's base
 * records and a local observation all use these shapes, so comparing them is one function.
 */
import type { VersionVector } from './vector.ts';

/** A chunk of a file: its SHA-256 and its length in bytes. */
export type ChunkSpec = [hash: string, size: number];

export type EntryContent =
  | {
      kind: 'file';
      hash: string;
      size: number;
      exec: boolean;
      chunks: ChunkSpec[];
      /**
       * Permission bits of the file where it was read (0o777 at most). A peer creating the file
       * gives it these bits, never wider; a peer updating an existing file keeps that file's own
       * bits. Not part of the content's identity: only the executable bit syncs as a change.
       */
      mode?: number;
    }
  | { kind: 'dir' }
  | { kind: 'symlink'; target: string }
  | { kind: 'deleted' };

/** A version of a path as the server records it. */
export interface ManifestEntry {
  path: string;
  content: EntryContent;
  vector: VersionVector;
  /** Sequence number of the workspace at which this version was accepted. */
  seq: number;
  /** The agent that made this version. */
  agent: string;
  /** Git branch the agent was on when it made the change, when its tree is a git work tree. */
  branch?: string;
}

/** True when two contents are the same thing on disk (vectors and metadata aside). */
export function sameContent(a: EntryContent, b: EntryContent): boolean {
  switch (a.kind) {
    case 'file':
      return b.kind === 'file' && a.hash === b.hash && a.exec === b.exec;
    case 'dir':
      return b.kind === 'dir';
    case 'symlink':
      return b.kind === 'symlink' && a.target === b.target;
    case 'deleted':
      return b.kind === 'deleted';
  }
}

/** True when the content means "something is there" (anything but a tombstone). */
export function exists(content: EntryContent): boolean {
  return content.kind !== 'deleted';
}

/** Bytes of file content, 0 for anything else. */
export function contentBytes(content: EntryContent): number {
  return content.kind === 'file' ? content.size : 0;
}

export const DELETED: EntryContent = { kind: 'deleted' };
