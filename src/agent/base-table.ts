/**
 * The agent's base records in memory, packed. An agent on a 100,000-file tree holds one base per
 * path for as long as it runs, and as parsed JSON each cost about 600 bytes in nine objects (the
 * record, its content, chunk list and chunk pairs, vector and stat, two 64-character hex hashes):
 * most of an idle agent's memory. Packed, a base is one object with its numbers inline and one
 * string holding all its hashes end to end (unpacked as slices of it, which copy nothing).
 *
 * Records set since the last flush are kept as given (they are what the next flush writes), so a
 * record just set is returned as the same object; a packed one is unpacked on each read into a
 * fresh object, except that the last one read is returned again while nothing changed it, so
 * `state.base(p) === state.base(p)` holds as it did when records were kept whole.
 */
import type { KnownBases } from '../core/deletion-guard.ts';
import type { ChunkSpec, EntryContent } from '../core/entry.ts';
import type { VersionVector } from '../core/vector.ts';
import type { BaseRecord } from './state.ts';

const KIND_FILE = 0;
const KIND_DIR = 1;
const KIND_SYMLINK = 2;
const KIND_DELETED = 3;
const EXEC = 1 << 2;
const OWN_WRITE = 1 << 3;
const HAS_MODE = 1 << 4;
const HAS_STAT = 1 << 5;
const HAS_STAT_AT = 1 << 6;
/** The hashes are kept as their JSON text (one of them is not 64 characters long). */
const RAW_HASHES = 1 << 7;
const MODE_SHIFT = 8;
/** Permission bits (0o777 at most) sit above MODE_SHIFT, the flags below it and above them. */
const MODE_MASK = 0o777;
const STAT_PROVES = 1 << 20;
const HASH_CHARS = 64;

/** One base, packed (see the file's comment). */
class PackedBase {
  constructor(
    /** Kind (2 bits), flags, and the file's permission bits from MODE_SHIFT. */
    readonly bits: number,
    /** File: content size. */
    readonly size: number,
    /**
     * File: the content hash then each chunk's hash, end to end (or their JSON text with
     * RAW_HASHES). Symlink: the target. Otherwise empty.
     */
    readonly ids: string,
    /** File: each chunk's size; null for the common case of one chunk holding the whole file. */
    readonly chunkSizes: readonly number[] | null,
    readonly vector: VersionVector,
    readonly statSize: number,
    readonly statMtimeMs: number,
    readonly statCtimeMs: number,
    readonly statIno: number,
    readonly statMode: number,
    readonly statAt: number,
  ) {}
}

/** A file or a symlink (see core/deletion-guard.ts isLiveFile). */
function isLiveKind(bits: number): boolean {
  const kind = bits & 3;
  return kind === KIND_FILE || kind === KIND_SYMLINK;
}

function pack(record: BaseRecord): PackedBase {
  const { content, stat } = record;
  let bits = 0;
  let size = 0;
  let ids = '';
  let chunkSizes: number[] | null = null;
  switch (content.kind) {
    case 'file': {
      bits = KIND_FILE | (content.exec ? EXEC : 0);
      if (content.mode !== undefined) bits |= HAS_MODE | ((content.mode & MODE_MASK) << MODE_SHIFT);
      size = content.size;
      const hashes = [content.hash, ...content.chunks.map(([h]) => h)];
      if (hashes.every((h) => h.length === HASH_CHARS)) ids = hashes.join('');
      else {
        bits |= RAW_HASHES;
        ids = JSON.stringify(hashes);
      }
      const one = content.chunks.length === 1 && content.chunks[0]![1] === content.size;
      chunkSizes = one ? null : content.chunks.map(([, n]) => n);
      break;
    }
    case 'dir':
      bits = KIND_DIR;
      break;
    case 'symlink':
      bits = KIND_SYMLINK;
      ids = content.target;
      break;
    case 'deleted':
      bits = KIND_DELETED;
      break;
  }
  if (record.ownWrite) bits |= OWN_WRITE;
  if (record.statProves) bits |= STAT_PROVES;
  if (stat) bits |= HAS_STAT;
  if (record.statAt !== undefined) bits |= HAS_STAT_AT;
  return new PackedBase(
    bits,
    size,
    ids,
    chunkSizes,
    record.vector,
    stat?.size ?? 0,
    stat?.mtimeMs ?? 0,
    stat?.ctimeMs ?? 0,
    stat?.ino ?? 0,
    stat?.mode ?? 0,
    record.statAt ?? 0,
  );
}

function unpackContent(p: PackedBase): EntryContent {
  switch (p.bits & 3) {
    case KIND_FILE: {
      const hashes: string[] = [];
      if (p.bits & RAW_HASHES) hashes.push(...(JSON.parse(p.ids) as string[]));
      else
        for (let at = 0; at < p.ids.length; at += HASH_CHARS) hashes.push(p.ids.slice(at, at + HASH_CHARS));
      const chunks: ChunkSpec[] = [];
      for (let i = 1; i < hashes.length; i++)
        chunks.push([hashes[i]!, p.chunkSizes === null ? p.size : p.chunkSizes[i - 1]!]);
      const content: EntryContent = {
        kind: 'file',
        hash: hashes[0]!,
        size: p.size,
        exec: (p.bits & EXEC) !== 0,
        chunks,
      };
      if (p.bits & HAS_MODE) content.mode = (p.bits >>> MODE_SHIFT) & MODE_MASK;
      return content;
    }
    case KIND_DIR:
      return { kind: 'dir' };
    case KIND_SYMLINK:
      return { kind: 'symlink', target: p.ids };
    default:
      return { kind: 'deleted' };
  }
}

function unpack(p: PackedBase): BaseRecord {
  const record: BaseRecord = { content: unpackContent(p), vector: p.vector };
  if (p.bits & HAS_STAT)
    record.stat = {
      size: p.statSize,
      mtimeMs: p.statMtimeMs,
      ctimeMs: p.statCtimeMs,
      ino: p.statIno,
      mode: p.statMode,
    };
  if (p.bits & HAS_STAT_AT) record.statAt = p.statAt;
  record.ownWrite = (p.bits & OWN_WRITE) !== 0;
  if (p.bits & STAT_PROVES) record.statProves = true;
  return record;
}

/**
 * Base records by path: a read-only map to its users, written through `set` by the agent's state.
 *
 * @example
 * const bases = new BaseTable();
 * bases.set('a.txt', record);
 * bases.get('a.txt'); // the same record, until the next takeFresh()
 */
export class BaseTable implements ReadonlyMap<string, BaseRecord>, KnownBases {
  private readonly packed = new Map<string, PackedBase>();
  private liveFilesValue = 0;
  /** Records set since the last `takeFresh`, as given: the ones the state has yet to write. */
  private fresh = new Map<string, BaseRecord>();
  private lastPath: string | undefined;
  private lastRecord: BaseRecord | undefined;

  get size(): number {
    return this.packed.size;
  }

  /** Bases that exist and are not folders, counted as they are set (the safety halt's denominator). */
  get liveFiles(): number {
    return this.liveFilesValue;
  }

  has(path: string): boolean {
    return this.packed.has(path);
  }

  get(path: string): BaseRecord | undefined {
    const fresh = this.fresh.get(path);
    if (fresh) return fresh;
    if (path === this.lastPath) return this.lastRecord;
    const p = this.packed.get(path);
    if (!p) return undefined;
    this.lastPath = path;
    this.lastRecord = unpack(p);
    return this.lastRecord;
  }

  /** Sets `path`'s base: kept whole until `takeFresh`, packed at once for the long run. */
  set(path: string, record: BaseRecord): this {
    this.putPacked(path, pack(record));
    this.fresh.set(path, record);
    if (path === this.lastPath) this.lastPath = this.lastRecord = undefined;
    return this;
  }

  /** Loads a record read from disk: packed only, as it needs no writing. */
  load(path: string, record: BaseRecord): void {
    this.putPacked(path, pack(record));
  }

  private putPacked(path: string, packed: PackedBase): void {
    const before = this.packed.get(path);
    if (before && isLiveKind(before.bits)) this.liveFilesValue--;
    if (isLiveKind(packed.bits)) this.liveFilesValue++;
    this.packed.set(path, packed);
  }

  /** The records set since the last call (to be written); afterwards they are kept packed only. */
  takeFresh(): Map<string, BaseRecord> {
    const fresh = this.fresh;
    this.fresh = new Map();
    return fresh;
  }

  /** Puts back records taken by `takeFresh` that could not be written (newer ones set since win). */
  restoreFresh(taken: ReadonlyMap<string, BaseRecord>): void {
    for (const [path, record] of taken) if (!this.fresh.has(path)) this.fresh.set(path, record);
  }

  *entries(): MapIterator<[string, BaseRecord]> {
    for (const [path, p] of this.packed) yield [path, this.fresh.get(path) ?? unpack(p)];
  }

  keys(): MapIterator<string> {
    return this.packed.keys();
  }

  *values(): MapIterator<BaseRecord> {
    for (const [, record] of this.entries()) yield record;
  }

  [Symbol.iterator](): MapIterator<[string, BaseRecord]> {
    return this.entries();
  }

  forEach(callback: (value: BaseRecord, key: string, map: ReadonlyMap<string, BaseRecord>) => void): void {
    for (const [path, record] of this.entries()) callback(record, path, this);
  }
}
