/** Push-building helpers for tests that talk to a hub directly. */
import { makeFrame } from '../../src/core/frames.ts';
import { fileHashFromChunks, sha256Hex } from '../../src/core/hash.ts';

/** A file change with its one chunk, as an agent would push it. */
export function fileChange(path: string, text: string, vector: Record<string, number>) {
  const bytes = new TextEncoder().encode(text);
  const hash = sha256Hex(bytes);
  return {
    change: {
      path,
      vector,
      content: {
        kind: 'file' as const,
        hash: fileHashFromChunks([hash]),
        size: bytes.length,
        exec: false,
        chunks: [[hash, bytes.length]] as [string, number][],
      },
    },
    frame: makeFrame(hash, bytes),
  };
}
