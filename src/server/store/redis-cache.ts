/**
 * A Redis cache of the manifests of active workspaces, in front of the durable store: one hash per
 * workspace (path -> "seq<TAB>entry JSON"), written through after each commit and filled on a miss,
 * expiring after two hours without writes (the deployment runs Redis with `allkeys-lru`).
 *
 * Redis is never the only copy. Commits, catch-up pages and everything that decides go to the
 * durable store; only single-entry reads (the previous version a live delta is made against) are
 * answered from the cache. A write never replaces a newer sequence with an older one (checked in
 * the script below), so a slow writer cannot bring back an old version; an entry that is missing
 * or stale after an eviction, a FLUSHALL or a restart costs one read from the durable store, or at
 * worst a larger delta. When Redis is away every call goes straight to the durable store.
 */

import type { ManifestEntry } from '../../core/entry.ts';
import type { PathVersion } from '../../core/history.ts';
import type { ConflictRecord } from '../../core/settle.ts';
import type { RedisClient } from '../redis-connect.ts';
import type {
  AuditEvent,
  AuditRecord,
  CommitOutcome,
  CommitRequest,
  ExpiryReport,
  ExpiryRequest,
  HubCommitOutcome,
  HubCommitRequest,
  Store,
  StoredSnapshot,
  WorkspaceSummary,
} from './store.ts';

const KEY_PREFIX = 'warmsync:manifest:';
/** Two hours, as in the deployment guide. */
const DEFAULT_TTL_SECONDS = 2 * 3600;

/** KEYS[1]: the hash; ARGV[1]: ttl; then (path, seq, value) triples. Keeps the higher sequence. */
const SET_IF_NEWER = `
for i = 2, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local seq = -1
  if current then seq = tonumber(string.match(current, '^(%d+)')) or -1 end
  if tonumber(ARGV[i + 1]) > seq then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

export interface RedisManifestCacheOptions {
  ttlSeconds?: number;
}

/**
 * @example
 * const store = new RedisManifestCache(new PostgresStore({ url }), new Redis(redisUrl));
 */
export class RedisManifestCache implements Store {
  private readonly ttl: number;

  constructor(
    private readonly durable: Store,
    private readonly redis: RedisClient,
    options: RedisManifestCacheOptions = {},
  ) {
    this.ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.access = durable.access;
    this.sessions = durable.sessions;
  }

  readonly access: Store['access'];
  readonly sessions: Store['sessions'];

  async commit(request: CommitRequest): Promise<CommitOutcome> {
    const outcome = await this.durable.commit(request);
    // After the durable commit, never instead of it; a failed cache write only costs a miss.
    await this.remember(request.workspace, outcome.entries);
    return outcome;
  }

  async commitHub(request: HubCommitRequest): Promise<HubCommitOutcome> {
    const outcome = await this.durable.commitHub(request);
    if (!outcome.stale) await this.remember(request.workspace, outcome.entries);
    return outcome;
  }

  conflicts(workspace: string): Promise<ConflictRecord[]> {
    return this.durable.conflicts(workspace);
  }

  history(workspace: string, path: string): Promise<PathVersion[]> {
    return this.durable.history(workspace, path);
  }

  /**
   * Expired tombstones leave the durable manifest; a cached copy of one is only ever read as the
   * previous version of a live delta, where a tombstone and no entry mean the same.
   */
  expire(request: ExpiryRequest): Promise<ExpiryReport> {
    return this.durable.expire(request);
  }

  async entry(workspace: string, path: string): Promise<ManifestEntry | undefined> {
    if (this.redis.status === 'ready') {
      try {
        const cached = await this.redis.hget(KEY_PREFIX + workspace, path);
        if (cached !== null) return JSON.parse(cached.slice(cached.indexOf('\t') + 1)) as ManifestEntry;
      } catch {
        // Redis failed mid-call: the durable store answers.
      }
    }
    const entry = await this.durable.entry(workspace, path);
    if (entry) await this.remember(workspace, [entry]);
    return entry;
  }

  changesSince(workspace: string, since: number, limit: number) {
    return this.durable.changesSince(workspace, since, limit);
  }

  renewEpoch(workspace: string): Promise<string> {
    return this.durable.renewEpoch(workspace);
  }

  liveChunks(): Promise<Set<string>> {
    return this.durable.liveChunks();
  }

  forgetChunks(hashes: readonly string[]): Promise<void> {
    return this.durable.forgetChunks(hashes);
  }

  workspaces(): Promise<WorkspaceSummary[]> {
    return this.durable.workspaces();
  }

  audit(records: readonly AuditRecord[]): Promise<void> {
    return this.durable.audit(records);
  }

  recentAudit(workspace: string | undefined, limit: number): Promise<AuditEvent[]> {
    return this.durable.recentAudit(workspace, limit);
  }

  /** Snapshots are read once per cold start: not worth caching, so the durable store answers. */
  putSnapshot(workspace: string, lockHash: string, manifest: string): Promise<void> {
    return this.durable.putSnapshot(workspace, lockHash, manifest);
  }

  snapshot(workspace: string, lockHash: string): Promise<StoredSnapshot | undefined> {
    return this.durable.snapshot(workspace, lockHash);
  }

  /** Closes the durable store; the Redis connection belongs to whoever made it. */
  close(): Promise<void> {
    return this.durable.close();
  }

  private async remember(workspace: string, entries: readonly ManifestEntry[]): Promise<void> {
    if (entries.length === 0 || this.redis.status !== 'ready') return;
    const args: Array<string | number> = [this.ttl];
    for (const entry of entries) args.push(entry.path, entry.seq, `${entry.seq}\t${JSON.stringify(entry)}`);
    try {
      await this.redis.eval(SET_IF_NEWER, 1, KEY_PREFIX + workspace, ...args);
    } catch {
      // The cache is an optimisation; the durable store already holds these entries.
    }
  }
}
