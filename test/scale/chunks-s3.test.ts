/**
 * The S3 chunk store against a real S3-compatible server (s3rver) on loopback: round trip,
 * missing chunks, idempotent writes, and a clear error when the server is away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { createHash } from 'node:crypto';
import { parseS3Url, S3ChunkStore } from '../../src/server/store/chunks-s3.ts';
import { ServiceUnavailableError } from '../../src/server/store/unavailable.ts';
import { type S3Service, startS3, stopAllServices } from '../helpers/services.ts';

let s3: S3Service;
beforeAll(async () => {
  s3 = await startS3();
}, 60_000);
afterAll(stopAllServices);

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const store = (prefix = 'chunks') =>
  new S3ChunkStore({
    url: `s3://${s3.bucket}/${prefix}`,
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });

describe('S3ChunkStore', () => {
  it('stores a chunk and reads back the same bytes from another instance', async () => {
    const bytes = new TextEncoder().encode('hello from replica A\n'.repeat(1000));
    const hash = sha(bytes);
    await store().put(hash, bytes);
    const other = store();
    expect(await other.has(hash)).toBe(true);
    expect(await other.get(hash)).toEqual(bytes);
  });

  it('answers undefined and false for a chunk it does not hold', async () => {
    const hash = sha(new TextEncoder().encode('never stored'));
    expect(await store().has(hash)).toBe(false);
    expect(await store().get(hash)).toBeUndefined();
  });

  it('keeps chunks of different prefixes apart', async () => {
    const bytes = new TextEncoder().encode('prefixed');
    const hash = sha(bytes);
    await store('one').put(hash, bytes);
    expect(await store('two').has(hash)).toBe(false);
  });

  it('writes the same chunk twice without harm', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(70_000));
    const hash = sha(bytes);
    await Promise.all([store().put(hash, bytes), store().put(hash, bytes)]);
    expect(await store().get(hash)).toEqual(bytes);
  });

  it('reports an unreachable server as unavailable, not as a missing chunk', async () => {
    const away = new S3ChunkStore({
      url: 's3://nowhere/chunks',
      endpoint: 'http://127.0.0.1:9',
      accessKeyId: 'x',
      secretAccessKey: 'y',
    });
    const hash = sha(new Uint8Array([1]));
    await expect(away.get(hash)).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(await away.health()).toBe('down');
  });

  it('parses s3:// URLs', () => {
    expect(parseS3Url('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', prefix: 'a/b' });
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(parseS3Url('http://bucket')).toBeUndefined();
  });
});
