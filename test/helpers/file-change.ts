/** Push-building helpers for tests that talk to a hub directly. */
import { makeFrame } from '../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';

/** A file change with its one chunk, as an agent would push it. */
export function fileChange(path: string, text: string, vector: Record<string, number>) {
  const { change, frames } = manyChunkChange(path, [text], vector);
  return { change, frame: frames[0]! };
}

/**
 * A file change of many small chunks (one per label), with their frames: long enough a chunk
 * list that pushes and live messages carry it as an edit of an older version.
 */
export function manyChunkChange(path: string, labels: readonly string[], vector: Record<string, number>) {
  const pieces = labels.map((label) => new TextEncoder().encode(label));
  const hashes = pieces.map((bytes) => sha256Hex(bytes));
  return {
    change: {
      path,
      vector,
      content: {
        kind: 'file' as const,
        hash: fileHashFromChunks(hashes),
        size: pieces.reduce((n, p) => n + p.length, 0),
        exec: false,
        chunks: hashes.map((h, i) => [h, pieces[i]!.length]) as [string, number][],
      },
    },
    frames: pieces.map((bytes, i) => makeFrame(hashes[i]!, bytes)),
  };
}
