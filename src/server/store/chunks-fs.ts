/**
 * Content-addressed chunks in a folder: `<root>/ab/abcdef...` for raw bytes, `<root>/ab/abcdef....z`
 * for a chunk kept as the zstd frame a push brought it in (see chunk-file.ts). A chunk is written to a temporary
 * file and renamed into place, so a reader or a crash never sees a partial chunk, and two writers
 * of one chunk (same bytes by construction) cannot corrupt it.
 *
 * Durability: a chunk is *staged* by `put` (written under its temporary name, readable by this
 * process at once) and made durable by `flush`, which every writer calls before it answers or
 * commits anything that names the chunk: the temporary files are flushed to disk together, then
 * renamed into place, then their folders are flushed. So a file under a chunk's name always holds
 * the chunk's full bytes, after a power loss too (a name whose bytes were lost would be taken for a
 * stored chunk and never asked for again). A pass of a few chunks flushes each file and folder
 * (side by side); a larger one, a first sync's push of thousands, flushes the whole filesystem
 * once before the renames and once after (syncfs), which costs about what one file's flush does.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSha256Hex, sha256Hex } from '../../core/hash.ts';
import {
  COMPRESSED_SUFFIX,
  compressedFrame,
  encodeCompressed,
  keepsFrame,
  openCompressed,
  type StoredChunk,
} from './chunk-file.ts';
import { type FileSystemFlush, flushFileSystem } from './filesystem-flush.ts';

export interface ChunkStore {
  has(hash: string): Promise<boolean>;
  /** The stored length of a chunk, or undefined when it is not stored. */
  size(hash: string): Promise<number | undefined>;
  get(hash: string): Promise<Uint8Array | undefined>;
  /**
   * As `get`, but a chunk the store keeps as a zstd frame is returned as that frame, not opened
   * (a fetch sends it as it is). Stores that keep chunks raw leave it out.
   */
  getStored?(hash: string): Promise<StoredChunk | undefined>;
  /**
   * Stores bytes already verified against `hash`; durable once `flush` has resolved. `zstd` is a
   * verified zstd frame of the same bytes, which a store may keep instead of them.
   */
  put(hash: string, bytes: Uint8Array, zstd?: Uint8Array): Promise<void>;
  /**
   * Makes every chunk put before the call durable, whoever put it. Called before a push is
   * committed or answered, so that no entry the hub records, and no "present" it answers, names a
   * chunk a power loss could take back.
   */
  flush(): Promise<void>;
  /** Total bytes the chunks take in the store (as kept: compressed where they are kept so). */
  sizeBytes(): number;
}

/** `store.getStored`, or the whole chunk for a store that keeps chunks only raw. */
export function readStored(store: ChunkStore, hash: string): Promise<StoredChunk | undefined> {
  return store.getStored ? store.getStored(hash) : readWhole(store, hash);
}

/** The chunk read whole (`get`), in the shape of a stored one. */
export async function readWhole(store: ChunkStore, hash: string): Promise<StoredChunk | undefined> {
  const bytes = await store.get(hash);
  return bytes && { length: bytes.length, bytes };
}

export interface FolderChunkStoreOptions {
  /**
   * Flush chunks to disk (default true). Off, `flush` only renames: a power loss may lose chunks
   * that committed entries name. Only the benches turn it off, to price the flushes.
   */
  fsync?: boolean;
  /** How a large pass flushes the whole filesystem (default: syncfs, see filesystem-flush.ts). */
  flushFileSystem?: FileSystemFlush;
}

/** Flushes in flight at once: enough for the filesystem to commit them together. */
const FLUSH_PARALLEL = 16;
/**
 * Passes of more chunks than this flush the whole filesystem instead of each file. syncfs also
 * writes back whatever else is dirty on the disk, which a single edit's chunk should not wait for.
 */
const FLUSH_EACH_UP_TO = 8;
/** Chunks remembered as found absent, at most (about 100 bytes each). */
const FOUND_ABSENT_MAX = 200_000;

export class FolderChunkStore implements ChunkStore {
  private totalBytes = 0;
  /** Chunks seen stored, with their lengths: chunks never change once stored. */
  private readonly known = new Map<string, number>();
  /** Chunks written under their temporary names and not yet flushed and renamed into place. */
  private readonly staged = new Map<
    string,
    { temp: string; target: string; compressed: boolean; size: number }
  >();
  /** The last flush; the next one starts after it (see flush). */
  private flushing: Promise<void> = Promise.resolve();
  private readonly fsync: boolean;
  /** A folder was made in the root since the last flush: the root must be flushed too. */
  private rootChanged = false;
  /**
   * Chunks `has` found in neither file, so that the `put` that follows (a push after the agent
   * asked which chunks the hub lacks) need not look again. Should another writer store one
   * meanwhile, the put writes the same bytes over it: chunks are named by their content.
   */
  private readonly foundAbsent = new Set<string>();
  /** Chunk folders known to exist (none is ever removed), so that a put makes no mkdir call for them. */
  private readonly folders = new Set<string>();
  private readonly flushFileSystem: FileSystemFlush;

  constructor(
    private readonly root: string,
    options: FolderChunkStoreOptions = {},
  ) {
    this.fsync = options.fsync ?? true;
    this.flushFileSystem = options.flushFileSystem ?? flushFileSystem;
    mkdirSync(root, { recursive: true });
    this.totalBytes = this.measure();
  }

  /** Chunks put and not yet flushed (for tests and metrics). */
  get unflushed(): number {
    return this.staged.size;
  }

  async has(hash: string): Promise<boolean> {
    if (this.known.has(hash) || this.staged.has(hash)) return true;
    const there = this.onDisk(hash);
    if (!there) {
      // Bounded: asked about many chunks that never come, it forgets, and puts look again.
      if (this.foundAbsent.size >= FOUND_ABSENT_MAX) this.foundAbsent.clear();
      this.foundAbsent.add(hash);
    }
    return there;
  }

  private onDisk(hash: string): boolean {
    return existsSync(this.compressedPathOf(hash)) || existsSync(this.pathOf(hash));
  }

  /**
   * The chunk's length: from its compressed file's header, checked with the file's digest (a push
   * naming the chunk is held to it), or its raw file's length.
   */
  async size(hash: string): Promise<number | undefined> {
    const known = this.known.get(hash) ?? this.staged.get(hash)?.size;
    if (known !== undefined) return known;
    const size = this.compressedLength(hash) ?? this.rawLength(hash);
    if (size !== undefined) this.known.set(hash, size);
    return size;
  }

  /** The length a whole compressed file gives; a damaged one is removed (see `get`). */
  private compressedLength(hash: string): number | undefined {
    const path = this.compressedPathOf(hash);
    const file = readIfThere(path);
    if (!file) return undefined;
    const kept = compressedFrame(file);
    if (kept) return kept.length;
    this.dropDamaged(hash, path, file.length);
    return undefined;
  }

  /**
   * The chunk's bytes, verified against its name. A chunk that is gone or fails verification
   * (a disk fault) is forgotten and its file removed, so that `has` answers false and the next
   * agent that holds the content uploads it again.
   */
  async get(hash: string): Promise<Uint8Array | undefined> {
    const opened = this.readChecked(hash, (file) => {
      const bytes = openCompressed(file, hash);
      return bytes && { length: bytes.length, bytes };
    });
    return opened?.bytes;
  }

  /** As `get`, but a chunk kept as a frame is read as the frame, checked against its digest. */
  async getStored(hash: string): Promise<StoredChunk | undefined> {
    return this.readChecked(hash, compressedFrame);
  }

  /**
   * Reads the chunk's compressed file with `open`, else its raw file checked against the hash.
   * A damaged file is removed (see `get`); a chunk whose files are all gone or damaged is forgotten.
   */
  private readChecked<T extends StoredChunk>(
    hash: string,
    open: (file: Uint8Array) => T | undefined,
  ): T | StoredChunk | undefined {
    const staged = this.staged.get(hash);
    const compressed = staged ? (staged.compressed ? staged.temp : undefined) : this.compressedPathOf(hash);
    const raw = staged ? (staged.compressed ? undefined : staged.temp) : this.pathOf(hash);
    if (compressed !== undefined) {
      const file = readIfThere(compressed);
      const chunk = file && open(file);
      if (chunk) return chunk;
      if (file) this.dropDamaged(hash, compressed, file.length);
    }
    if (raw !== undefined) {
      const file = readIfThere(raw);
      if (file && sha256Hex(file) === hash) return { length: file.length, bytes: file };
      if (file) this.dropDamaged(hash, raw, file.length);
    }
    this.known.delete(hash);
    return undefined;
  }

  private dropDamaged(hash: string, path: string, length: number): void {
    this.known.delete(hash);
    if (this.staged.get(hash)?.temp === path) this.staged.delete(hash);
    rmSync(path, { force: true });
    this.totalBytes = Math.max(0, this.totalBytes - length);
  }

  async put(hash: string, bytes: Uint8Array, zstd?: Uint8Array): Promise<void> {
    const justFoundAbsent = this.foundAbsent.delete(hash);
    if (this.known.has(hash) || this.staged.has(hash) || (!justFoundAbsent && this.onDisk(hash))) {
      this.touch(hash);
      return;
    }
    const compressed = keepsFrame(bytes.length, zstd);
    const target = compressed ? this.compressedPathOf(hash) : this.pathOf(hash);
    const folder = dirname(target);
    if (!this.folders.has(folder)) {
      if (mkdirSync(folder, { recursive: true }) !== undefined) this.rootChanged = true;
      this.folders.add(folder);
    }
    const temp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const file = compressed ? encodeCompressed(bytes.length, zstd) : bytes;
    writeFileSync(temp, file);
    this.staged.set(hash, { temp, target, compressed, size: bytes.length });
    this.totalBytes += file.length;
  }

  /**
   * Flushes the staged chunks' bytes, renames them into place, and flushes their folders (and the
   * root, which holds the folders). Flushes run one after another: a caller's flush starts once
   * the one before it is done, so when it resolves every chunk put before the call is durable,
   * also one that an earlier caller's flush had taken and was still flushing.
   *
   * @example
   * await chunks.put(hash, bytes);
   * await chunks.flush();
   * await store.commit(request); // names hash
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushStaged());
    this.flushing = run.catch(() => {});
    return run;
  }

  private async flushStaged(): Promise<void> {
    if (this.staged.size === 0) return;
    const batch = [...this.staged];
    const rootChanged = this.rootChanged;
    this.rootChanged = false;
    // Many chunks: one flush of the filesystem makes all their bytes durable; when it cannot be
    // had (no syncfs here), every file is flushed on its own, as for a small pass.
    const whole = this.fsync && batch.length > FLUSH_EACH_UP_TO && (await this.flushFileSystem(this.root));
    if (this.fsync && !whole) await inBatches(batch, ([, { temp }]) => syncPath(temp, 'r+'));
    const folders = new Set<string>();
    for (const [hash, { temp, target, size }] of batch) {
      // Unless another writer's flush of the same chunk got there first (same bytes).
      if (this.staged.get(hash)?.temp === temp) {
        renameSync(temp, target);
        this.staged.delete(hash);
        this.known.set(hash, size);
      } else rmSync(temp, { force: true });
      folders.add(dirname(target));
    }
    if (rootChanged) folders.add(this.root);
    // A failure here (an I/O error) fails the push, which commits nothing; the agent sends it again.
    if (!this.fsync) return;
    if (whole && (await this.flushFileSystem(this.root))) return;
    await inBatches([...folders], (folder) => syncPath(folder, 'r'));
  }

  sizeBytes(): number {
    return this.totalBytes;
  }

  /**
   * Marks a stored chunk as just used (its mtime), so that a collection running now leaves it to
   * the push that is about to name it.
   */
  touch(hash: string): void {
    const now = new Date();
    // Both names when both are there (a raw copy an earlier version wrote beside a compressed one).
    for (const path of [this.compressedPathOf(hash), this.pathOf(hash)]) {
      try {
        utimesSync(path, now, now);
      } catch {
        // Not under this name; gone under both, the pusher is told it is missing and sends it.
      }
    }
  }

  /**
   * Removes every chunk `keep` does not want whose file was last written or touched before
   * `before` (ms since the epoch): chunks uploaded for a push still in flight stay.
   */
  sweep(keep: (hash: string) => boolean, before: number): { removed: string[]; bytes: number } {
    // A chunk's files go together: a chunk with one file young stays under both names.
    const files = new Map<string, { path: string; size: number; mtimeMs: number }[]>();
    for (const dir of readdirSync(this.root)) {
      for (const name of readdirSync(join(this.root, dir))) {
        const hash = chunkOfName(name);
        if (hash === undefined || keep(hash)) continue;
        const path = join(this.root, dir, name);
        let stats: ReturnType<typeof statSync>;
        try {
          stats = statSync(path);
        } catch {
          continue;
        }
        const entry = { path, size: stats.size, mtimeMs: stats.mtimeMs };
        const others = files.get(hash);
        if (others) others.push(entry);
        else files.set(hash, [entry]);
      }
    }
    const removed: string[] = [];
    let bytes = 0;
    for (const [hash, kept] of files) {
      if (kept.some((file) => file.mtimeMs >= before)) continue;
      for (const file of kept) {
        rmSync(file.path, { force: true });
        bytes += file.size;
      }
      this.known.delete(hash);
      removed.push(hash);
    }
    this.totalBytes = Math.max(0, this.totalBytes - bytes);
    return { removed, bytes };
  }

  private pathOf(hash: string): string {
    if (!isSha256Hex(hash)) throw new Error(`not a chunk hash: ${hash}`);
    return join(this.root, hash.slice(0, 2), hash);
  }

  private compressedPathOf(hash: string): string {
    return this.pathOf(hash) + COMPRESSED_SUFFIX;
  }

  private rawLength(hash: string): number | undefined {
    try {
      return statSync(this.pathOf(hash)).size;
    } catch {
      return undefined;
    }
  }

  private measure(): number {
    let total = 0;
    for (const dir of readdirSync(this.root)) {
      for (const name of readdirSync(join(this.root, dir))) {
        if (chunkOfName(name) !== undefined) total += statSync(join(this.root, dir, name)).size;
      }
    }
    return total;
  }
}

/** The chunk a file in the folder holds (`<hash>` or `<hash>.z`); undefined for any other name. */
function chunkOfName(name: string): string | undefined {
  const hash = name.endsWith(COMPRESSED_SUFFIX) ? name.slice(0, -COMPRESSED_SUFFIX.length) : name;
  return isSha256Hex(hash) ? hash : undefined;
}

/** A file's bytes, or undefined when it cannot be read (gone, or a fault). */
function readIfThere(path: string): Uint8Array | undefined {
  try {
    // Synchronous: chunks are small, and a thread-pool round trip costs more than the read.
    return new Uint8Array(readFileSync(path));
  } catch {
    return undefined;
  }
}

/** Flushes one file or folder to disk. */
async function syncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Runs `work` over `items`, FLUSH_PARALLEL at a time. */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += FLUSH_PARALLEL)
    await Promise.all(items.slice(i, i + FLUSH_PARALLEL).map(work));
}
