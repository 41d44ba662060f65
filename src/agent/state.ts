/**
 * The agent's memory, kept outside the synced folder: its id, its cursor in the workspace's
 * sequence, and for each path the base version (what it and the hub last agreed on) with the stat
 * seen when that version was read, so unchanged files need no re-hashing.
 */
import { Database } from 'bun:sqlite';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EntryContent } from '../core/entry.ts';
import type { VersionVector } from '../core/vector.ts';

export interface StatStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  mode: number;
}

export interface BaseRecord {
  content: EntryContent;
  vector: VersionVector;
  /** Stat of the local copy when it was last known to hold `content`. */
  stat?: StatStamp;
  /** Wall-clock ms when `stat` was taken; only for the stat cache, never for conflict logic. */
  statAt?: number;
  /**
   * The agent wrote this content itself and took `stat` right after its rename, so the stat
   * describes exactly these bytes (no "racily clean" doubt).
   */
  ownWrite?: boolean;
}

interface BaseRow {
  path: string;
  content: string;
  vector: string;
  stat: string | null;
  stat_at: number | null;
  own_write: number;
}

export class AgentState {
  private readonly db: Database;
  readonly agentId: string;
  readonly bases = new Map<string, BaseRecord>();
  private cursorValue: number;
  private readonly dirty = new Map<string, BaseRecord | null>();

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.db = new Database(join(stateDir, 'agent.db'), { create: true, strict: true });
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS base (path TEXT PRIMARY KEY, content TEXT NOT NULL, vector TEXT NOT NULL, stat TEXT, stat_at REAL, own_write INTEGER NOT NULL DEFAULT 0);
    `);
    const id = this.meta('agent_id');
    this.agentId = id ?? randomBytes(4).toString('hex');
    if (!id) this.setMeta('agent_id', this.agentId);
    this.cursorValue = Number(this.meta('cursor') ?? '0');
    for (const row of this.db
      .query('SELECT path, content, vector, stat, stat_at, own_write FROM base')
      .all() as BaseRow[]) {
      this.bases.set(row.path, {
        content: JSON.parse(row.content) as EntryContent,
        vector: JSON.parse(row.vector) as VersionVector,
        stat: row.stat ? (JSON.parse(row.stat) as StatStamp) : undefined,
        statAt: row.stat_at ?? undefined,
        ownWrite: row.own_write === 1,
      });
    }
  }

  get cursor(): number {
    return this.cursorValue;
  }

  setCursor(cursor: number): void {
    this.cursorValue = cursor;
  }

  base(path: string): BaseRecord | undefined {
    return this.bases.get(path);
  }

  setBase(path: string, record: BaseRecord): void {
    this.bases.set(path, record);
    this.dirty.set(path, record);
  }

  /** Writes the changed bases and the cursor in one transaction. */
  flush(): void {
    const upsert = this.db.query(
      'INSERT OR REPLACE INTO base (path, content, vector, stat, stat_at, own_write) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const [path, record] of this.dirty) {
        if (!record) continue;
        upsert.run(
          path,
          JSON.stringify(record.content),
          JSON.stringify(record.vector),
          record.stat ? JSON.stringify(record.stat) : null,
          record.statAt ?? null,
          record.ownWrite ? 1 : 0,
        );
      }
      this.setMeta('cursor', String(this.cursorValue));
    })();
    this.dirty.clear();
  }

  close(): void {
    this.flush();
    this.db.close();
  }

  private meta(key: string): string | undefined {
    return (this.db.query('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | null)
      ?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db.query('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }
}
