/**
 * The hub's side of credentials: turning an `Authorization` header into a principal, and the view
 * of the chunk store that a workspace credential gets (only the chunks its workspace references,
 * so it can neither read another workspace's content nor learn that the hub holds it).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Principal, parseWorkspaceToken } from '../core/credential.ts';
import { bearerMatches } from './auth.ts';
import type { StoredChunk } from './store/chunk-file.ts';
import { type ChunkStore, readStored } from './store/chunks-fs.ts';
import type { AccessStore, StoredCredential } from './store/credentials.ts';

/** How long a looked-up credential is trusted before it is read again (so a revoke bites fast). */
const CREDENTIAL_CACHE_MS = 1000;

export class Authenticator {
  private readonly cache = new Map<string, { at: number; credential: StoredCredential | undefined }>();

  constructor(
    private readonly adminToken: string | undefined,
    private readonly access: AccessStore,
  ) {}

  /** The principal a request acts as, or undefined when its credential is missing or wrong. */
  async principal(authorization: string | undefined): Promise<Principal | undefined> {
    // No admin credential configured: the hub asks none (loopback only, see listen).
    if (this.adminToken === undefined) return { kind: 'admin' };
    if (bearerMatches(authorization, this.adminToken)) return { kind: 'admin' };
    const presented = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const token = presented ? parseWorkspaceToken(presented) : undefined;
    if (!token) return undefined;
    const credential = await this.lookup(token.id);
    if (!credential || credential.revokedAt) return undefined;
    const presentedHash = createHash('sha256').update(token.secret).digest();
    if (!timingSafeEqual(presentedHash, Buffer.from(credential.secretHash, 'hex'))) return undefined;
    return {
      kind: 'workspace',
      id: credential.id,
      workspace: credential.workspace,
      readOnly: credential.readOnly,
      agent: credential.agent,
    };
  }

  /** Forgets a cached credential (after a bind or a revoke on this replica). */
  forget(id: string): void {
    this.cache.delete(id);
  }

  private async lookup(id: string): Promise<StoredCredential | undefined> {
    const cached = this.cache.get(id);
    if (cached && Date.now() - cached.at < CREDENTIAL_CACHE_MS) return cached.credential;
    const credential = await this.access.credential(id);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { at: Date.now(), credential });
    return credential;
  }
}

/** The hex SHA-256 of a secret, as credentials are stored. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * The chunk store as one workspace's credential sees it: a chunk its workspace does not reference
 * is absent. One view per request; lookups are batched with `preload`.
 */
export class WorkspaceChunks implements ChunkStore {
  private readonly allowed = new Set<string>();
  private readonly checked = new Set<string>();

  constructor(
    private readonly inner: ChunkStore,
    private readonly access: AccessStore,
    private readonly workspace: string,
  ) {}

  /** Looks up which of `hashes` the workspace references, in one query. */
  async preload(hashes: readonly string[]): Promise<void> {
    const unknown = [...new Set(hashes)].filter((h) => !this.checked.has(h));
    if (unknown.length === 0) return;
    const found = await this.access.referencedChunks(this.workspace, unknown);
    for (const hash of unknown) {
      this.checked.add(hash);
      if (found.has(hash)) this.allowed.add(hash);
    }
  }

  private async visible(hash: string): Promise<boolean> {
    await this.preload([hash]);
    return this.allowed.has(hash);
  }

  async has(hash: string): Promise<boolean> {
    return (await this.visible(hash)) && this.inner.has(hash);
  }

  async size(hash: string): Promise<number | undefined> {
    return (await this.visible(hash)) ? this.inner.size(hash) : undefined;
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    return (await this.visible(hash)) ? this.inner.get(hash) : undefined;
  }

  async getStored(hash: string): Promise<StoredChunk | undefined> {
    return (await this.visible(hash)) ? readStored(this.inner, hash) : undefined;
  }

  async put(hash: string, bytes: Uint8Array, zstd?: Uint8Array): Promise<void> {
    await this.inner.put(hash, bytes, zstd);
    this.checked.add(hash);
    this.allowed.add(hash);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  sizeBytes(): number {
    return this.inner.sizeBytes();
  }
}
