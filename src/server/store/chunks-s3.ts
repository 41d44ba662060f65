/**
 * Content-addressed chunks in S3-compatible object storage, through Bun's built-in client: key
 * `<prefix>/ab/abcdef...`. Chunks are immutable and named by their hash, so any number of
 * replicas may write the same chunk (same bytes). A chunk that is lost or fails verification on
 * read is forgotten, so that it can be uploaded again.
 */
import { S3Client } from 'bun';
import { isSha256Hex, sha256Hex } from '../../core/hash.ts';
import type { ChunkStore } from './chunks-fs.ts';
import { isConnectionError, type ServiceState, ServiceUnavailableError } from './unavailable.ts';

export interface S3ChunkStoreOptions {
  /** `s3://bucket` or `s3://bucket/prefix`. */
  url: string;
  /** e.g. http://127.0.0.1:9000 for an S3-compatible server; AWS when unset (or AWS_ENDPOINT_URL). */
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** Splits `s3://bucket/prefix` into its parts; undefined when it is not such a URL. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match) return undefined;
  return { bucket: match[1]!, prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/**
 * @example
 * const chunks = new S3ChunkStore({ url: 's3://warmsync/chunks', endpoint: 'http://127.0.0.1:9000' });
 */
export class S3ChunkStore implements ChunkStore {
  private readonly client: S3Client;
  private readonly prefix: string;
  /** Chunks seen stored, with their lengths (0 when only their presence is known). */
  private readonly known = new Map<string, number>();
  private writtenBytes = 0;

  constructor(options: S3ChunkStoreOptions) {
    const parsed = parseS3Url(options.url);
    if (!parsed) throw new Error(`not an s3://bucket/prefix URL: ${options.url}`);
    this.prefix = parsed.prefix ? `${parsed.prefix}/` : '';
    const env = process.env;
    this.client = new S3Client({
      bucket: parsed.bucket,
      endpoint: options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? env.S3_ENDPOINT,
      region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      accessKeyId: options.accessKeyId ?? env.AWS_ACCESS_KEY_ID,
      secretAccessKey: options.secretAccessKey ?? env.AWS_SECRET_ACCESS_KEY,
    });
  }

  async has(hash: string): Promise<boolean> {
    if (this.known.has(hash)) return true;
    const present = await this.guard(() => this.client.exists(this.keyOf(hash)));
    if (present) this.known.set(hash, 0);
    return present;
  }

  async size(hash: string): Promise<number | undefined> {
    const known = this.known.get(hash);
    if (known) return known;
    const key = this.keyOf(hash);
    try {
      const size = await this.client.size(key);
      this.known.set(hash, size);
      return size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      if (isConnectionError(error)) throw new ServiceUnavailableError('chunks', (error as Error).message);
      throw error;
    }
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    const key = this.keyOf(hash);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await this.client.file(key).arrayBuffer());
    } catch (error) {
      if (isMissing(error)) {
        this.known.delete(hash);
        return undefined;
      }
      if (isConnectionError(error)) throw new ServiceUnavailableError('chunks', (error as Error).message);
      throw error;
    }
    if (sha256Hex(bytes) === hash) return bytes;
    // Damaged in the store: drop it, so that the next agent holding the content uploads it again.
    this.known.delete(hash);
    await this.guard(() => this.client.delete(key));
    return undefined;
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    if (await this.has(hash)) return;
    await this.guard(() => this.client.write(this.keyOf(hash), bytes));
    this.known.set(hash, bytes.length);
    this.writtenBytes += bytes.length;
  }

  /** Nothing to do: an object store answers a write once the object is durable. */
  async flush(): Promise<void> {}

  /** Bytes this replica has written (the bucket's total is the object store's own metric). */
  sizeBytes(): number {
    return this.writtenBytes;
  }

  async health(): Promise<ServiceState> {
    try {
      await this.client.exists(`${this.prefix}.warmsync-health`);
      return 'up';
    } catch {
      return 'down';
    }
  }

  private keyOf(hash: string): string {
    if (!isSha256Hex(hash)) throw new Error(`not a chunk hash: ${hash}`);
    return `${this.prefix}${hash.slice(0, 2)}/${hash}`;
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isConnectionError(error)) throw new ServiceUnavailableError('chunks', (error as Error).message);
      throw error;
    }
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    code === 'NoSuchKey' || code === 'ENOENT' || /NoSuchKey|not found/i.test(String((error as Error).message))
  );
}
