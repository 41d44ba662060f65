/**
 * The chunks of a small push, written into the commit's own transaction. A commit flushes the
 * database's log once; the chunk folder flushes each new chunk file and then its folder. For an
 * edit of one file that is three flushes in a row before its peers hear of it, and the two of the
 * folder are the larger part (BENCHMARKS.md, "A single edit, stage by stage"). With the chunk's
 * bytes in the commit, the one flush of the log makes the entry and the bytes it names durable
 * together; the folder's flush follows after the answer, and the rows are dropped once it is done.
 * A hub that stops before that puts the rows' chunks into the folder again when it starts.
 */
import type { Database } from 'bun:sqlite';

export const CHUNK_JOURNAL_SCHEMA = `
CREATE TABLE IF NOT EXISTS chunk_journal (hash TEXT PRIMARY KEY, bytes BLOB NOT NULL);
`;

export interface JournaledChunk {
  hash: string;
  bytes: Uint8Array;
}

export function journalChunks(db: Database, chunks: readonly JournaledChunk[]): void {
  const insert = db.query('INSERT OR REPLACE INTO chunk_journal (hash, bytes) VALUES (?, ?)');
  for (const { hash, bytes } of chunks) insert.run(hash, bytes);
}

export function journaledChunks(db: Database): JournaledChunk[] {
  return (
    db.query('SELECT hash, bytes FROM chunk_journal').all() as Array<{ hash: string; bytes: Uint8Array }>
  ).map((row) => ({ hash: row.hash, bytes: new Uint8Array(row.bytes) }));
}

export function dropJournaledChunks(db: Database, hashes: readonly string[]): void {
  const drop = db.query('DELETE FROM chunk_journal WHERE hash = ?');
  for (const hash of hashes) drop.run(hash);
}
