/**
 * The packs of a chunk folder (`<root>/packs/<name>.pack`, format in chunk-pack.ts): which chunk
 * each holds, reading one back, writing a new one durably, and removing what a collection no
 * longer wants.
 *
 * Several hub replicas may share the folder. A pack is never changed once under its name, so what
 * a replica has loaded stays true until the pack is removed; a pack another replica added is
 * found by `refresh`, which lists the folder again when its timestamps say it changed. A pack
 * removed under a reader (another replica's collection) is forgotten on the read that finds it
 * gone, and the chunk looked for again: a collection writes the chunks it keeps into a new pack
 * before it removes the old one.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { groupsBySize } from '../../core/size-groups.ts';
import { type EncodedPack, encodePack, type PackInput, type PackSlot, TRAILER_BYTES } from './chunk-pack.ts';
import { modifiedAt, readAt, readFd, readIndex, sizeOf, syncFolderSync, writeAll } from './pack-io.ts';

export const PACKS_FOLDER = 'packs';
const PACK_SUFFIX = '.pack';
const TEMP_SUFFIX = '.tmp';
/**
 * A folder changed this recently may change again within the same timestamp: its listing is not
 * trusted to stay current by its timestamps alone, and is taken again (at most every RELIST_MS).
 */
const RACY_MS = 1000;
const RELIST_MS = 100;
/**
 * Unless forced, the folder is looked at no more often than this: a first sync asks about
 * thousands of chunks the hub lacks within a second, and a pack another replica wrote in the
 * last few milliseconds is found on the next look (missed meanwhile, a chunk is uploaded again).
 */
const LOOK_EVERY_MS = 20;
/**
 * Packs kept open for reading, at most: a mirror's catch-up reads thousands of chunks from a few
 * packs, one positioned read each instead of an open, a read and a close.
 */
const OPEN_PACKS_MAX = 32;
/** A pack's small chunks are joined into writes of about this many bytes, not one write each. */
const WRITE_BYTES = 1024 * 1024;

/** Flushes one file or folder to disk. */
export type SyncPath = (path: string, what: 'file' | 'folder') => Promise<void>;

/** A chunk's stored file checks against its name (see chunks-fs.ts). */
export type CheckStored = (hash: string, file: Uint8Array, compressed: boolean) => boolean;

interface Pack {
  name: string;
  path: string;
  bytes: number;
  slots: Map<string, PackSlot>;
}

export class PackShelf {
  readonly dir: string;
  private readonly packs = new Map<string, Pack>();
  /** Which loaded pack holds each chunk (the newest, when several do). */
  private readonly holder = new Map<string, Pack>();
  /** Pack names whose trailer or index does not check: never read; a collection removes them. */
  private readonly unreadable = new Set<string>();
  /** Descriptors of packs read lately, the least recently read first. */
  private readonly open = new Map<string, number>();
  private folderKey = '';
  private listedAt = 0;
  private lookedAt = 0;
  private folderMade = false;
  /** The packs' folder was made and the root that holds it not flushed since. */
  private rootUnflushed = false;

  constructor(private readonly root: string) {
    this.dir = join(root, PACKS_FOLDER);
    this.refresh(true);
  }

  /** Bytes the loaded packs take. */
  get bytes(): number {
    let total = 0;
    for (const pack of this.packs.values()) total += pack.bytes;
    return total;
  }

  /** The chunk's slot in a loaded pack. */
  slotOf(hash: string): PackSlot | undefined {
    return this.holder.get(hash)?.slots.get(hash);
  }

  /**
   * Loads the packs another process put in the folder and forgets those it removed. Unless
   * `force`d, the folder is listed only when its timestamps changed, or changed so recently that
   * they may not show the next change (see RACY_MS).
   */
  refresh(force = false): void {
    const lookedAt = Date.now();
    if (!force && lookedAt - this.lookedAt < LOOK_EVERY_MS) return;
    this.lookedAt = lookedAt;
    let key: string;
    let changedAt: number;
    try {
      const stats = statSync(this.dir);
      key = `${stats.ino}:${stats.mtimeMs}:${stats.ctimeMs}`;
      changedAt = Math.max(stats.mtimeMs, stats.ctimeMs);
    } catch {
      key = 'none';
      changedAt = 0;
    }
    const now = Date.now();
    const racy = now - changedAt < RACY_MS;
    if (!force && key === this.folderKey && (!racy || now - this.listedAt < RELIST_MS)) return;
    this.folderKey = key;
    this.listedAt = now;
    const names = new Set(this.listPacks());
    let lost = false;
    for (const name of this.packs.keys()) if (!names.has(name)) lost = this.drop(name) || lost;
    for (const name of [...names].sort())
      if (!this.packs.has(name) && !this.unreadable.has(name)) this.load(name);
    if (lost) this.reindex();
  }

  private listPacks(): string[] {
    try {
      return readdirSync(this.dir).filter((name) => name.endsWith(PACK_SUFFIX));
    } catch {
      return [];
    }
  }

  /** Reads a pack's index; a pack gone meanwhile is skipped, one that does not check is set aside. */
  private load(name: string): void {
    const path = join(this.dir, name);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return;
    }
    try {
      const length = fstatSync(fd).size;
      const slots = length >= TRAILER_BYTES ? readIndex(fd, length) : undefined;
      if (!slots) {
        this.unreadable.add(name);
        return;
      }
      const pack: Pack = { name, path, bytes: length, slots: new Map(slots.map((s) => [s.hash, s])) };
      this.packs.set(name, pack);
      for (const hash of pack.slots.keys()) this.holder.set(hash, pack);
    } catch {
      // A read fault: tried again on the next listing.
    } finally {
      closeSync(fd);
    }
  }

  /** Forgets a pack; true when it held chunks that another pack may also hold. */
  private drop(name: string): boolean {
    const pack = this.packs.get(name);
    if (!pack) return false;
    this.packs.delete(name);
    this.close(name);
    let held = false;
    for (const hash of pack.slots.keys())
      if (this.holder.get(hash) === pack) {
        this.holder.delete(hash);
        held = true;
      }
    return held;
  }

  /** Rebuilds which pack holds each chunk, after a pack was forgotten. */
  private reindex(): void {
    this.holder.clear();
    for (const name of [...this.packs.keys()].sort()) {
      const pack = this.packs.get(name)!;
      for (const hash of pack.slots.keys()) this.holder.set(hash, pack);
    }
  }

  /**
   * The chunk's stored file (as chunk-file.ts reads it), or undefined when no loaded pack holds
   * it. A pack found gone is forgotten and the chunk looked for in the others, after a listing.
   */
  read(hash: string): { file: Uint8Array; slot: PackSlot } | undefined {
    for (let tries = 0; tries < 2; tries++) {
      const pack = this.holder.get(hash);
      const slot = pack?.slots.get(hash);
      if (!pack || !slot) return undefined;
      try {
        return { file: readFd(this.descriptor(pack), slot.offset, slot.stored), slot };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
        this.drop(pack.name);
        this.reindex();
        this.refresh(true);
      }
    }
    return undefined;
  }

  /**
   * An open descriptor of the pack. Still open, it reads the pack's bytes after another replica
   * removed it: a pack never changes, and its chunks are as valid as when it was written.
   */
  private descriptor(pack: Pack): number {
    const fd = this.open.get(pack.name);
    if (fd !== undefined) {
      this.open.delete(pack.name);
      this.open.set(pack.name, fd);
      return fd;
    }
    const opened = openSync(pack.path, 'r');
    this.open.set(pack.name, opened);
    if (this.open.size > OPEN_PACKS_MAX) this.close(this.open.keys().next().value!);
    return opened;
  }

  private close(name: string): void {
    const fd = this.open.get(name);
    if (fd === undefined) return;
    this.open.delete(name);
    closeSync(fd);
  }

  /**
   * Forgets the chunk in the pack that was read for it (its bytes there failed their check) and
   * looks for it in the others. The pack itself stays: its other chunks are sound.
   */
  forgetDamaged(hash: string): void {
    const pack = this.holder.get(hash);
    if (!pack) return;
    pack.slots.delete(hash);
    this.holder.delete(hash);
    for (const other of this.packs.values()) if (other.slots.has(hash)) this.holder.set(hash, other);
  }

  /**
   * Writes `chunks` as one pack: under a temporary name, flushed, renamed into place, and the
   * folder flushed (and the root, the first time the folder is made). Resolves once the pack is
   * durable and loaded.
   */
  async write(chunks: readonly PackInput[], sync: SyncPath | undefined): Promise<void> {
    this.ensureFolder();
    const encoded = encodePack(chunks);
    const { name, path, temp } = this.newName();
    const handle = await open(temp, 'wx');
    try {
      try {
        let position = 0;
        for (const buffer of joinedUpTo(encoded.parts, WRITE_BYTES)) {
          // A write may take fewer bytes than asked: the rest is written after them.
          for (let done = 0; done < buffer.length; ) {
            const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, position);
            done += bytesWritten;
            position += bytesWritten;
          }
        }
      } finally {
        await handle.close();
      }
      if (sync) await sync(temp, 'file');
      renameSync(temp, path);
    } catch (error) {
      // A full disk, say: nothing is left half written (the staged chunks are flushed again later).
      rmSync(temp, { force: true });
      throw error;
    }
    if (sync) {
      await sync(this.dir, 'folder');
      if (this.rootUnflushed) await sync(this.root, 'folder');
      this.rootUnflushed = false;
    }
    this.adopt(name, path, encoded);
  }

  /** As `write`, synchronously (a collection's rewrite of a pack); returns the pack's length. */
  writeSync(chunks: readonly PackInput[], fsync: boolean): number {
    this.ensureFolder();
    const encoded = encodePack(chunks);
    const { name, path, temp } = this.newName();
    const fd = openSync(temp, 'wx');
    try {
      try {
        for (const part of encoded.parts) writeAll(fd, part);
        if (fsync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
    if (fsync) {
      syncFolderSync(this.dir);
      if (this.rootUnflushed) syncFolderSync(this.root);
      this.rootUnflushed = false;
    }
    this.adopt(name, path, encoded);
    return encoded.length;
  }

  /** Makes the packs' folder once; made now, the root's entry for it must be flushed too. */
  private ensureFolder(): void {
    if (this.folderMade) return;
    if (mkdirSync(this.dir, { recursive: true }) !== undefined) this.rootUnflushed = true;
    this.folderMade = true;
  }

  /** A name no other writer takes: the time (names sort as packs were made), the process, chance. */
  private newName(): { name: string; path: string; temp: string } {
    const name = `${Date.now().toString(36).padStart(9, '0')}-${process.pid}-${Math.random().toString(36).slice(2, 10)}${PACK_SUFFIX}`;
    const path = join(this.dir, name);
    return { name, path, temp: path + TEMP_SUFFIX };
  }

  private adopt(name: string, path: string, encoded: EncodedPack): void {
    const pack: Pack = {
      name,
      path,
      bytes: encoded.length,
      slots: new Map(encoded.slots.map((s) => [s.hash, s])),
    };
    this.packs.set(name, pack);
    for (const hash of pack.slots.keys()) this.holder.set(hash, pack);
  }

  /** Marks the chunk's pack as just used, so that a collection now leaves all of it; true if held. */
  touch(hash: string): boolean {
    const pack = this.holder.get(hash);
    if (!pack) return false;
    const now = new Date();
    try {
      utimesSync(pack.path, now, now);
    } catch {
      // Gone (another replica's collection): the pusher is told the chunk is missing and sends it.
    }
    return true;
  }

  /**
   * Removes from the packs last written or touched before `before` every chunk `keep` does not
   * want: a pack with none left is removed, one with some left is written again with those alone
   * (checked with `check`) before it is removed. Unreadable packs and temporary files left by a
   * crashed writer go too, once as old. Returns the chunks removed and the bytes freed.
   */
  sweep(
    keep: (hash: string) => boolean,
    before: number,
    check: CheckStored,
    fsync: boolean,
  ): { removed: string[]; bytes: number } {
    this.refresh(true);
    const removed = new Set<string>();
    let bytes = 0;
    for (const name of this.listAll()) {
      const path = join(this.dir, name);
      const modified = modifiedAt(path);
      if (modified === undefined || modified >= before) continue;
      const pack = this.packs.get(name);
      if (!pack) {
        // A temporary pack of a writer that stopped, or a pack that does not check.
        if (name.endsWith(PACK_SUFFIX) && !this.unreadable.has(name)) continue;
        bytes += sizeOf(path);
        rmSync(path, { force: true });
        this.unreadable.delete(name);
        continue;
      }
      const unwanted = [...pack.slots.keys()].filter((hash) => !keep(hash));
      if (unwanted.length === 0) continue;
      const kept: PackInput[] = [];
      for (const slot of pack.slots.values()) {
        if (!keep(slot.hash)) continue;
        const file = readAt(pack.path, slot.offset, slot.stored);
        if (check(slot.hash, file, slot.compressed))
          kept.push({ hash: slot.hash, file, compressed: slot.compressed, size: slot.size });
      }
      if (kept.length > 0) bytes -= this.writeSync(kept, fsync);
      rmSync(pack.path, { force: true });
      bytes += pack.bytes;
      this.drop(name);
      for (const hash of unwanted) removed.add(hash);
    }
    this.reindex();
    // A chunk that another pack still holds (written or touched since) is not gone.
    return { removed: [...removed].filter((hash) => !this.holder.has(hash)), bytes: Math.max(0, bytes) };
  }

  /** Every name in the folder: packs and temporary packs. */
  private listAll(): string[] {
    try {
      return readdirSync(this.dir).filter(
        (n) => n.endsWith(PACK_SUFFIX) || n.endsWith(PACK_SUFFIX + TEMP_SUFFIX),
      );
    } catch {
      return [];
    }
  }
}

/** `parts` joined end to end into buffers of about `size` bytes (a larger part is one alone). */
function joinedUpTo(parts: readonly Uint8Array[], size: number): Uint8Array[] {
  return groupsBySize(parts, (part) => part.length, size).map((group) =>
    group.length === 1 ? group[0]! : Buffer.concat(group),
  );
}
