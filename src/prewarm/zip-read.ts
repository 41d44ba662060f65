/**
 * Reads the entries of a zip archive (wheels, Go module zips) without extracting anything: the
 * central directory gives the names, and one entry at a time is inflated into memory on request.
 * Only what those formats use is supported (stored and deflated entries, no zip64, no
 * encryption); anything else is an error, since a warmer must refuse what it cannot check.
 */
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

/** One file in the archive, as its central directory records it. */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** An open archive: its entries and a reader for their contents. Close it when done. */
export interface ZipArchive {
  entries: ZipEntry[];
  read(entry: ZipEntry): Promise<Uint8Array>;
  close(): Promise<void>;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** The end record is 22 bytes plus a comment of at most 65535. */
const MAX_TAIL = 22 + 0xffff;
/** No single entry is inflated beyond this (a module zip is at most 500 MB in all). */
const MAX_ENTRY_BYTES = 512 * 1024 * 1024;

/**
 * Opens `path` as a zip archive. Rejects when it is not one, or uses a feature listed above as
 * unsupported.
 *
 * @example
 * const zip = await openZip('demo-1.0-py3-none-any.whl');
 * const metadata = zip.entries.find((e) => e.name.endsWith('.dist-info/METADATA'));
 */
export async function openZip(path: string): Promise<ZipArchive> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const tailLength = Math.min(size, MAX_TAIL);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
    const count = tail.readUInt16LE(eocd + 10);
    const directorySize = tail.readUInt32LE(eocd + 12);
    const directoryOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || directoryOffset === 0xffffffff)
      throw new Error('zip64 archives are not supported');
    if (directoryOffset + directorySize > size)
      throw new Error('zip central directory lies outside the file');
    const directory = Buffer.alloc(directorySize);
    await file.read(directory, 0, directorySize, directoryOffset);
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 46 > directorySize || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE)
        throw new Error('zip central directory is corrupt');
      const flags = directory.readUInt16LE(at + 8);
      if (flags & 1) throw new Error('encrypted zip entries are not supported');
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      entries.push({
        name: directory.toString('utf8', at + 46, at + 46 + nameLength),
        method: directory.readUInt16LE(at + 10),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
      });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return {
      entries,
      read: (entry) => readEntry(file, size, entry),
      close: () => file.close(),
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

async function readEntry(
  file: Awaited<ReturnType<typeof open>>,
  fileSize: number,
  entry: ZipEntry,
): Promise<Uint8Array> {
  if (entry.size > MAX_ENTRY_BYTES) throw new Error(`zip entry ${entry.name} is too large`);
  const header = Buffer.alloc(30);
  await file.read(header, 0, 30, entry.localHeaderOffset);
  if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new Error(`zip entry ${entry.name} is corrupt`);
  const dataOffset = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (dataOffset + entry.compressedSize > fileSize) throw new Error(`zip entry ${entry.name} is truncated`);
  const raw = Buffer.alloc(entry.compressedSize);
  await file.read(raw, 0, entry.compressedSize, dataOffset);
  let data: Uint8Array;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) data = inflateRawSync(raw, { maxOutputLength: MAX_ENTRY_BYTES });
  else throw new Error(`zip entry ${entry.name} uses unsupported compression ${entry.method}`);
  if (data.length !== entry.size) throw new Error(`zip entry ${entry.name} has the wrong size`);
  return data;
}
