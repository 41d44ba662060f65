/**
 * Content-addressed chunks in a folder. A chunk is kept either in a file of its own,
 * `<root>/ab/abcdef...` for raw bytes or `<root>/ab/abcdef....z` for a chunk kept as the zstd
 * frame a push brought it in (see chunk-file.ts), or in a pack of many chunks,
 * `<root>/packs/<name>.pack` (see chunk-pack.ts and pack-shelf.ts). A file or a pack is written
 * under a temporary name and renamed into place, so a reader or a crash never sees a partial one,
 * and two writers of one chunk (same bytes by construction) cannot corrupt it.
 *
 * Durability: a chunk is *staged* by `put` (held in memory, readable by this process at once) and
 * made durable by `flush`, which every writer calls before it answers or commits anything that
 * names the chunk. A pass of a few chunks (an edit's) writes each to its own file, flushes them
 * side by side, renames them into place and flushes their folders. A larger one, a first sync's
 * push of thousands, is written as one pack: one file written, flushed and renamed, and one folder
 * flushed, where a file per chunk cost an open, a write, a rename and a lookup each. Either way a
 * name under which a chunk is found always holds the chunk's full bytes, after a power loss too
 * (a name whose bytes were lost would be taken for a stored chunk and never asked for again).
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
import { groupsBySize } from '../../core/size-groups.ts';
import {
  COMPRESSED_SUFFIX,
  compressedFrame,
  encodeCompressed,
  keepsFrame,
  openCompressed,
  type StoredChunk,
} from './chunk-file.ts';
import type { PackInput } from './chunk-pack.ts';
import { PACKS_FOLDER, PackShelf, type SyncPath } from './pack-shelf.ts';

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
  /** How one file or folder is flushed (default: fsync); tests record the flushes' order with it. */
  syncPath?: SyncPath;
}

/** Flushes in flight at once: enough for the filesystem to commit them together. */
const FLUSH_PARALLEL = 16;
/** Passes of more chunks than this are written as packs; smaller ones (an edit's) file by file. */
const FILE_EACH_UP_TO = 8;
/** Bytes of chunks a pack holds at most: a collection rewrites a pack whole to free part of it. */
const PACK_MAX_BYTES = 64 * 1024 * 1024;
/** Chunks remembered as found absent, at most (about 100 bytes each). */
const FOUND_ABSENT_MAX = 200_000;

export class FolderChunkStore implements ChunkStore {
  /** Bytes of the chunk files and of the staged chunks (the packs count their own). */
  private totalBytes = 0;
  /** Chunks seen stored in files of their own, with their lengths: chunks never change once stored. */
  private readonly known = new Map<string, number>();
  /** Chunks put and not yet flushed: their files' bytes, in memory. */
  private readonly staged = new Map<string, PackInput>();
  /** The last flush; the next one starts after it (see flush). */
  private flushing: Promise<void> = Promise.resolve();
  private readonly fsync: boolean;
  private readonly syncPath: SyncPath;
  /** A folder was made in the root since the last flush: the root must be flushed too. */
  private rootChanged = false;
  /**
   * Chunks `has` found nowhere, so that the `put` that follows (a push after the agent asked
   * which chunks the hub lacks) need not look again. Should another writer store one meanwhile,
   * the put stores the same bytes again: chunks are named by their content.
   */
  private readonly foundAbsent = new Set<string>();
  /** Chunk folders known to exist (none is ever removed), so that a write makes no mkdir call for them. */
  private readonly folders = new Set<string>();
  private readonly packs: PackShelf;

  constructor(
    private readonly root: string,
    options: FolderChunkStoreOptions = {},
  ) {
    this.fsync = options.fsync ?? true;
    this.syncPath = options.syncPath ?? syncPath;
    mkdirSync(root, { recursive: true });
    this.totalBytes = this.measure();
    this.packs = new PackShelf(root);
  }

  /** Chunks put and not yet flushed (for tests and metrics). */
  get unflushed(): number {
    return this.staged.size;
  }

  async has(hash: string): Promise<boolean> {
    if (this.held(hash) || this.inFile(hash)) return true;
    // Another replica sharing the folder may have packed it since the folder was last listed.
    this.packs.refresh();
    if (this.packs.slotOf(hash)) return true;
    // Bounded: asked about many chunks that never come, it forgets, and puts look again.
    if (this.foundAbsent.size >= FOUND_ABSENT_MAX) this.foundAbsent.clear();
    this.foundAbsent.add(hash);
    return false;
  }

  /** Known to this process: staged, seen in a file, or in a loaded pack. */
  private held(hash: string): boolean {
    return this.known.has(hash) || this.staged.has(hash) || this.packs.slotOf(hash) !== undefined;
  }

  private inFile(hash: string): boolean {
    return existsSync(this.compressedPathOf(hash)) || existsSync(this.pathOf(hash));
  }

  /**
   * The chunk's length: from its compressed file's header, checked with the file's digest (a push
   * naming the chunk is held to it), its raw file's length, or its pack's index.
   */
  async size(hash: string): Promise<number | undefined> {
    const known = this.known.get(hash) ?? this.staged.get(hash)?.size ?? this.packs.slotOf(hash)?.size;
    if (known !== undefined) return known;
    const size = this.compressedLength(hash) ?? this.rawLength(hash);
    if (size !== undefined) {
      this.known.set(hash, size);
      return size;
    }
    this.packs.refresh(true);
    return this.packs.slotOf(hash)?.size;
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
   * (a disk fault) is forgotten and its file removed (in a pack, only forgotten), so that `has`
   * answers false and the next agent that holds the content uploads it again.
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
   * The staged chunk, else the chunk read from its pack or its files with `open` (a compressed
   * one) or checked against the hash (a raw one). A damaged copy is dropped (see `get`); a chunk
   * found nowhere is looked for once more in packs another replica may have added.
   */
  private readChecked<T extends StoredChunk>(
    hash: string,
    open: (file: Uint8Array) => T | undefined,
  ): T | StoredChunk | undefined {
    const staged = this.staged.get(hash);
    if (staged) return staged.compressed ? open(staged.file) : { length: staged.size, bytes: staged.file };
    const checked = (file: Uint8Array, compressed: boolean) =>
      compressed ? open(file) : sha256Hex(file) === hash ? { length: file.length, bytes: file } : undefined;
    for (let pass = 0; pass < 2; pass++) {
      for (let packed = this.packs.read(hash); packed; packed = this.packs.read(hash)) {
        const chunk = checked(packed.file, packed.slot.compressed);
        if (chunk) return chunk;
        this.packs.forgetDamaged(hash);
      }
      for (const [path, compressed] of [
        [this.compressedPathOf(hash), true],
        [this.pathOf(hash), false],
      ] as const) {
        const file = readIfThere(path);
        const chunk = file && checked(file, compressed);
        if (chunk) return chunk;
        if (file) this.dropDamaged(hash, path, file.length);
      }
      this.known.delete(hash);
      if (pass === 0) this.packs.refresh(true);
      if (!this.packs.slotOf(hash)) break;
    }
    return undefined;
  }

  private dropDamaged(hash: string, path: string, length: number): void {
    this.known.delete(hash);
    rmSync(path, { force: true });
    this.totalBytes = Math.max(0, this.totalBytes - length);
  }

  async put(hash: string, bytes: Uint8Array, zstd?: Uint8Array): Promise<void> {
    const justFoundAbsent = this.foundAbsent.delete(hash);
    if (this.held(hash) || (!justFoundAbsent && this.inFile(hash))) {
      this.touch(hash);
      return;
    }
    const compressed = keepsFrame(bytes.length, zstd);
    const file = compressed ? encodeCompressed(bytes.length, zstd) : bytes;
    this.staged.set(hash, { hash, file, compressed, size: bytes.length });
    this.totalBytes += file.length;
  }

  /**
   * Makes the staged chunks durable: as packs, or file by file for a few (see the file's
   * comment). Flushes run one after another: a caller's flush starts once the one before it is
   * done, so when it resolves every chunk put before the call is durable, also one that an
   * earlier caller's flush had taken and was still flushing.
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
    const batch = [...this.staged.values()];
    // A failure here (an I/O error) fails the push, which commits nothing; the agent sends it again.
    if (batch.length > FILE_EACH_UP_TO) {
      for (const group of groupsBySize(batch, (chunk) => chunk.file.length, PACK_MAX_BYTES)) {
        await this.packs.write(group, this.fsync ? this.syncPath : undefined);
        this.unstage(group);
      }
    } else await this.writeEach(batch);
  }

  /** Drops chunks now durable from the staged ones (unless staged again since: not possible, same bytes). */
  private unstage(chunks: readonly PackInput[]): void {
    for (const chunk of chunks) {
      if (this.staged.get(chunk.hash) !== chunk) continue;
      this.staged.delete(chunk.hash);
      this.totalBytes = Math.max(0, this.totalBytes - chunk.file.length);
    }
  }

  /** Writes each chunk to a file of its own: temporary files flushed, renamed, folders flushed. */
  private async writeEach(batch: readonly PackInput[]): Promise<void> {
    const rootChanged = this.rootChanged;
    this.rootChanged = false;
    const written = batch.map((chunk) => {
      const target = chunk.compressed ? this.compressedPathOf(chunk.hash) : this.pathOf(chunk.hash);
      const folder = dirname(target);
      if (!this.folders.has(folder)) {
        if (mkdirSync(folder, { recursive: true }) !== undefined) this.rootChanged = true;
        this.folders.add(folder);
      }
      const temp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
      writeFileSync(temp, chunk.file);
      return { chunk, temp, target, folder };
    });
    if (this.fsync) await inBatches(written, ({ temp }) => this.syncPath(temp, 'file'));
    const folders = new Set<string>();
    for (const { chunk, temp, target, folder } of written) {
      renameSync(temp, target);
      folders.add(folder);
      if (this.staged.get(chunk.hash) === chunk) {
        this.staged.delete(chunk.hash);
        this.known.set(chunk.hash, chunk.size);
      }
    }
    if (rootChanged || this.rootChanged) folders.add(this.root);
    this.rootChanged = false;
    if (this.fsync) await inBatches([...folders], (folder) => this.syncPath(folder, 'folder'));
  }

  sizeBytes(): number {
    return this.totalBytes + this.packs.bytes;
  }

  /**
   * Marks a stored chunk as just used (its file's or its pack's mtime), so that a collection
   * running now leaves it to the push that is about to name it.
   */
  touch(hash: string): void {
    // A packed copy kept is enough: a collection counts a chunk removed only once no copy is left.
    if (this.packs.touch(hash)) return;
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
   * Removes every chunk `keep` does not want whose file or pack was last written or touched
   * before `before` (ms since the epoch): chunks uploaded for a push still in flight stay.
   */
  sweep(keep: (hash: string) => boolean, before: number): { removed: string[]; bytes: number } {
    const files = this.sweepFiles(keep, before);
    const packed = this.packs.sweep(
      keep,
      before,
      (hash, file, compressed) =>
        compressed ? compressedFrame(file) !== undefined : sha256Hex(file) === hash,
      this.fsync,
    );
    // A chunk is removed once no copy is left: one may stay in a young file or pack.
    const removed = new Set<string>();
    for (const hash of files.removed) if (!this.packs.slotOf(hash)) removed.add(hash);
    for (const hash of packed.removed) if (!this.inFile(hash)) removed.add(hash);
    return { removed: [...removed], bytes: files.bytes + packed.bytes };
  }

  private sweepFiles(keep: (hash: string) => boolean, before: number): { removed: string[]; bytes: number } {
    // A chunk's files go together: a chunk with one file young stays under both names.
    const files = new Map<string, { path: string; size: number; mtimeMs: number }[]>();
    for (const dir of this.chunkFolders()) {
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

  /** The folders of chunk files (`ab`), not the packs' folder. */
  private chunkFolders(): string[] {
    return readdirSync(this.root).filter((name) => name !== PACKS_FOLDER);
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
    for (const dir of this.chunkFolders()) {
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
const syncPath: SyncPath = async (path, what) => {
  const handle = await open(path, what === 'file' ? 'r+' : 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/** Runs `work` over `items`, FLUSH_PARALLEL at a time. */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += FLUSH_PARALLEL)
    await Promise.all(items.slice(i, i + FLUSH_PARALLEL).map(work));
}
