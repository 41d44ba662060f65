import { afterAll, describe, expect, it } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageFiles, TarballError } from '../../src/prewarm/tarball.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

afterAll(cleanup);

/** One ustar entry: a 512-byte header and its data padded to whole blocks. */
function entry(
  name: string,
  data = '',
  options: { type?: string; mode?: number; badChecksum?: boolean } = {},
) {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100);
  header.write(`${(options.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${Buffer.byteLength(data).toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write(options.type ?? '0', 156);
  header.write('ustar\u000000', 257);
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${(options.badChecksum ? sum + 1 : sum).toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(Math.ceil(Buffer.byteLength(data) / 512) * 512);
  body.write(data);
  return Buffer.concat([header, body]);
}

const tgz = (...entries: Buffer[]) => gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
const paths = (bytes: Uint8Array) => packageFiles(bytes).map((f) => f.path);

/** A tarball made by the system's tar from a folder `package/` holding what `fill` writes. */
function systemTarball(format: 'gnu' | 'pax', fill: (dir: string) => void): Uint8Array {
  const root = tempDir('warmsync-tarball-');
  mkdirSync(join(root, 'package'));
  fill(join(root, 'package'));
  const out = join(root, 'p.tgz');
  execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', root, 'package']);
  return readFileSync(out);
}

describe('packageFiles', () => {
  it('strips the top folder, keeps regular files only, and gives each its bytes', () => {
    const files = packageFiles(
      tgz(
        entry('package/', '', { type: '5' }),
        entry('package/package.json', '{"name":"p"}'),
        entry('package/lib/index.js', 'x'),
        entry('package/link', '', { type: '2' }),
        entry('package/hard', '', { type: '1' }),
        entry('package/fifo', '', { type: '6' }),
        entry('top-level-file'),
      ),
    );
    expect(files.map((f) => [f.path, Buffer.from(f.data).toString()])).toEqual([
      ['package.json', '{"name":"p"}'],
      ['lib/index.js', 'x'],
    ]);
  });

  it('gives every file rw for all, keeps execute bits, drops set-user-ID and sticky bits', () => {
    const files = packageFiles(
      tgz(
        entry('package/a', '', { mode: 0o600 }),
        entry('package/b', '', { mode: 0o755 }),
        entry('package/c', '', { mode: 0o4755 }),
        entry('package/d', '', { mode: 0o1644 }),
      ),
    );
    expect(files.map((f) => f.mode)).toEqual([0o666, 0o777, 0o777, 0o666]);
  });

  it('renames .gitignore to .npmignore unless a .npmignore came first', () => {
    expect(
      paths(tgz(entry('package/.gitignore'), entry('package/x/.npmignore'), entry('package/x/.gitignore'))),
    ).toEqual(['.npmignore', 'x/.npmignore']);
  });

  it('skips paths that would leave the package or break the path rules; a leading / is dropped, as tar does', () => {
    expect(
      paths(
        tgz(
          entry('package/../../escape'),
          entry('/abs/x'),
          entry('package/a\\b'),
          entry('package/ok'),
          entry('package/.warmsync-tmp-x'),
        ),
      ),
    ).toEqual(['x', 'ok']);
  });

  it('reads long names from GNU and pax tarballs', () => {
    const long = `${'d'.repeat(80)}/${'f'.repeat(90)}.js`;
    for (const format of ['gnu', 'pax'] as const) {
      const bytes = systemTarball(format, (dir) => {
        mkdirSync(join(dir, 'd'.repeat(80)));
        writeFileSync(join(dir, long), 'long');
        writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
        chmodSync(join(dir, 'run.sh'), 0o755);
        symlinkSync('run.sh', join(dir, 'alias'));
      });
      const files = packageFiles(bytes).sort((a, b) => a.path.localeCompare(b.path));
      expect(files.map((f) => [f.path, f.mode])).toEqual([
        [long, 0o666],
        ['run.sh', 0o777],
      ]);
    }
  });

  it('refuses bytes that are not a gzipped tarball, a damaged header and a truncated entry', () => {
    expect(() => packageFiles(new Uint8Array([1, 2, 3]))).toThrow(TarballError);
    expect(() => packageFiles(tgz(entry('package/a', 'x', { badChecksum: true })))).toThrow(/checksum/);
    const whole = entry('package/a', 'x'.repeat(2000));
    expect(() => packageFiles(gzipSync(whole.subarray(0, 1024)))).toThrow(/ends inside an entry/);
  });
});
