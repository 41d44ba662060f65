/**
 * The agent's memory, kept outside the synced folder: its id, its cursor in the workspace's
 * sequence, and for each path the base version (what it and the hub last agreed on) with the stat
 * seen when that version was read, so unchanged files need no re-hashing.
 */
import { Database } from 'bun:sqlite';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EntryContent, ManifestEntry } from '../core/entry.ts';
import type { Intent } from '../core/intent.ts';
import type { VersionVector } from '../core/vector.ts';
import { BaseTable } from './base-table.ts';

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
  /**
   * `stat` proves the bytes are still `content` unless the file was changed in place: it is the
   * stat of the agent's own write, taken after the rename and equal to the written file's own,
   * and its mtime predates its ctime. A write stamps the mtime and the ctime with one time, so no
   * write since leaves this stat as it is; only an edit that also puts the mtime back can, within
   * the clock's tick of the rename, and its watcher event says "changed", not "renamed". So a path
   * whose events were renames only (the agent's own) needs no read (see ReadPolicy). Kept in
   * memory only: a restarted agent reads such a file again when the watcher names it.
   */
  statProves?: boolean;
}

/** A remote version that could not be written yet, kept so that the cursor can move past it. */
export interface DeferredVersion {
  entry: ManifestEntry;
  attempts: number;
  /** Wall-clock ms of the next try (scheduling only, never ordering). */
  retryAt: number;
  problem: string;
}

/** The state folder is in use by another running agent. */
export class StateLockedError extends Error {
  readonly code = 'state-locked';
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
  /** Every path's base, packed in memory (see base-table.ts); the set ones are written by `flush`. */
  readonly bases = new BaseTable();
  private cursorValue: number;
  readonly deferred = new Map<string, DeferredVersion>();
  private readonly deferredDirty = new Set<string>();
  /**
   * Remote versions this agent's sync mode chose not to write (a send-only path, a receive-only
   * path with a local edit), kept so the cursor can move past them and `revert` or a later edit
   * knows the workspace's version.
   */
  readonly withheld = new Map<string, ManifestEntry>();
  private readonly withheldDirty = new Set<string>();
  /** Pushes sent and writes begun whose outcome is not recorded as a base yet (see core/intent.ts). */
  readonly intents = new Map<string, Intent>();
  private readonly intentsDirty = new Set<string>();
  private counterValue: number;

  /**
   * Opens the state folder and takes it for this process alone: SQLite's exclusive locking mode
   * holds the database lock until the process ends (the kernel drops it on a kill), so a second
   * agent on the same state folder stops with a clear message instead of sharing vectors.
   */
  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.db = new Database(join(stateDir, 'agent.db'), { create: true, strict: true });
    try {
      this.db.exec('PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;');
      this.db.exec('BEGIN EXCLUSIVE; COMMIT;');
    } catch (error) {
      this.db.close();
      if (/locked|busy/i.test((error as Error).message)) {
        throw new StateLockedError(
          `the state folder ${stateDir} is in use by another running agent; give this one its own --state`,
        );
      }
      throw error;
    }
    // FULL: the cursor and bases are committed only after the data they describe is on disk, and
    // must themselves survive a power loss, else a restart re-derives "local edits" from old bases.
    this.db.exec('PRAGMA synchronous = FULL;');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS base (path TEXT PRIMARY KEY, content TEXT NOT NULL, vector TEXT NOT NULL, stat TEXT, stat_at REAL, own_write INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS deferred (path TEXT PRIMARY KEY, record TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS intent (path TEXT PRIMARY KEY, record TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS withheld (path TEXT PRIMARY KEY, entry TEXT NOT NULL);
    `);
    const id = this.meta('agent_id');
    // 64 random bits: two agents of one workspace must never share an id (their vectors would mix).
    this.agentId = id ?? randomBytes(8).toString('hex');
    if (!id) this.setMeta('agent_id', this.agentId);
    this.cursorValue = Number(this.meta('cursor') ?? '0');
    this.counterValue = Number(this.meta('counter') ?? '0');
    for (const row of this.db.query('SELECT path, record FROM deferred').all() as Array<{
      path: string;
      record: string;
    }>) {
      this.deferred.set(row.path, JSON.parse(row.record) as DeferredVersion);
    }
    for (const row of this.db.query('SELECT path, entry FROM withheld').all() as Array<{
      path: string;
      entry: string;
    }>) {
      this.withheld.set(row.path, JSON.parse(row.entry) as ManifestEntry);
    }
    for (const row of this.db.query('SELECT path, record FROM intent').all() as Array<{
      path: string;
      record: string;
    }>) {
      this.intents.set(row.path, JSON.parse(row.record) as Intent);
    }
    // Row by row: the whole table as one array of rows would be the agent's peak at start.
    for (const row of this.db
      .query('SELECT path, content, vector, stat, stat_at, own_write FROM base')
      .iterate() as IterableIterator<BaseRow>) {
      this.bases.load(row.path, {
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

  /** The epoch of the workspace the cursor and bases belong to (undefined before the first page). */
  get epoch(): string | undefined {
    return this.meta('epoch');
  }

  setEpoch(epoch: string): void {
    this.setMeta('epoch', epoch);
  }

  /**
   * The agent's edit counter: every local edit takes the next value as this agent's entry in the
   * new version's vector. It only grows and is written to disk before the push that uses it (with
   * the push's intents, see `recordIntents`), so no vector is ever reused, even after a crash
   * that lost the bases of the last push.
   */
  get counter(): number {
    return this.counterValue;
  }

  /**
   * Reserves `n` counter values and returns the first. They reach the disk with the intents of
   * the push that uses them, before it is sent; values of a push that is never sent may be handed
   * out again after a crash, which is harmless since no vector carries them.
   */
  reserveCounter(n: number): number {
    const first = this.counterValue + 1;
    this.counterValue += n;
    return first;
  }

  /** Raises the counter to at least `value` (seen in a vector of this agent's, e.g. after a restore). */
  raiseCounter(value: number): void {
    if (value > this.counterValue) {
      this.counterValue = value;
      this.setMeta('counter', String(value));
    }
  }

  setDeferred(path: string, record: DeferredVersion | undefined): void {
    if (record) this.deferred.set(path, record);
    else if (!this.deferred.delete(path)) return;
    this.deferredDirty.add(path);
  }

  /** Keeps (or, with undefined, forgets) the remote version withheld from `path` by its mode. */
  setWithheld(path: string, entry: ManifestEntry | undefined): void {
    if (entry) this.withheld.set(path, entry);
    else if (!this.withheld.delete(path)) return;
    this.withheldDirty.add(path);
  }

  base(path: string): BaseRecord | undefined {
    return this.bases.get(path);
  }

  /** Records `path`'s base; whatever was intended for the path is settled with it. */
  setBase(path: string, record: BaseRecord): void {
    this.bases.set(path, record);
    this.dropIntent(path);
  }

  /**
   * Records intents before the push is sent or the writes begin, so a kill at any later point
   * leaves them for the next start (see core/intent.ts). They are committed with everything not
   * yet written (bases, the counter...): a path's new intent replaces its old one, which may have
   * been settled as a base only in memory so far, so that base must reach the disk with it.
   * A push's intents are flushed to disk like everything else here. A write's intents are not
   * flushed on their own: they must survive a killed agent, which the page cache ensures, and
   * the cycle's next commit (which records the writes as bases) flushes them with it; a power cut
   * in between loses this commit whole, which costs a conflict copy instead of a silent
   * recovery, never an edit, and spares every remote write a disk flush of its own.
   */
  recordIntents(intents: ReadonlyArray<readonly [path: string, intent: Intent]>): void {
    if (intents.length === 0) return;
    for (const [path, intent] of intents) {
      this.intents.set(path, intent);
      this.intentsDirty.add(path);
    }
    const durable = intents.some(([, intent]) => intent.op === 'push');
    if (durable) this.flush();
    else {
      this.db.exec('PRAGMA synchronous = NORMAL;');
      try {
        this.flush();
      } finally {
        this.db.exec('PRAGMA synchronous = FULL;');
      }
    }
  }

  /** Forgets `path`'s intent: its outcome is known. Written with the next flush. */
  dropIntent(path: string): void {
    if (this.intents.delete(path)) this.intentsDirty.add(path);
  }

  /** Writes the changed bases, deferred and withheld versions and intents, the cursor and the counter in one transaction. */
  flush(): void {
    const fresh = this.bases.takeFresh();
    try {
      this.write(fresh);
    } catch (error) {
      this.bases.restoreFresh(fresh);
      throw error;
    }
    this.deferredDirty.clear();
    this.withheldDirty.clear();
    this.intentsDirty.clear();
  }

  private write(fresh: ReadonlyMap<string, BaseRecord>): void {
    const upsert = this.db.query(
      'INSERT OR REPLACE INTO base (path, content, vector, stat, stat_at, own_write) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const [path, record] of fresh) {
        upsert.run(
          path,
          JSON.stringify(record.content),
          JSON.stringify(record.vector),
          record.stat ? JSON.stringify(record.stat) : null,
          record.statAt ?? null,
          record.ownWrite ? 1 : 0,
        );
      }
      for (const path of this.deferredDirty) {
        const record = this.deferred.get(path);
        if (record)
          this.db
            .query('INSERT OR REPLACE INTO deferred (path, record) VALUES (?, ?)')
            .run(path, JSON.stringify(record));
        else this.db.query('DELETE FROM deferred WHERE path = ?').run(path);
      }
      for (const path of this.withheldDirty) {
        const entry = this.withheld.get(path);
        if (entry)
          this.db
            .query('INSERT OR REPLACE INTO withheld (path, entry) VALUES (?, ?)')
            .run(path, JSON.stringify(entry));
        else this.db.query('DELETE FROM withheld WHERE path = ?').run(path);
      }
      const putIntent = this.db.query('INSERT OR REPLACE INTO intent (path, record) VALUES (?, ?)');
      const dropIntent = this.db.query('DELETE FROM intent WHERE path = ?');
      for (const path of this.intentsDirty) {
        const intent = this.intents.get(path);
        if (intent) putIntent.run(path, JSON.stringify(intent));
        else dropIntent.run(path);
      }
      this.setMeta('cursor', String(this.cursorValue));
      this.setMeta('counter', String(this.counterValue));
    })();
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
