/**
 * Workspace credentials and chunk references, as every store keeps them. A credential is stored
 * as the SHA-256 of its secret, never the secret itself; a chunk reference says a workspace may
 * read a chunk (it uploaded it, or one of its entries names it), which is what keeps one
 * workspace's credential from reading, or learning of, another workspace's content.
 */
import type { ManifestEntry } from '../../core/entry.ts';
import { type SnapshotManifest, snapshotChunks } from '../../prewarm/snapshot-manifest.ts';

export interface StoredCredential {
  id: string;
  workspace: string;
  readOnly: boolean;
  /** Hex SHA-256 of the secret part of the token. */
  secretHash: string;
  label: string;
  /** The agent id bound on first use. */
  agent?: string;
  createdAt: string;
  revokedAt?: string;
}

export type NewCredential = Pick<StoredCredential, 'id' | 'workspace' | 'readOnly' | 'secretHash' | 'label'>;

export interface AccessStore {
  createCredential(credential: NewCredential): Promise<void>;
  /** The credential with this id, revoked ones included (the caller refuses those). */
  credential(id: string): Promise<StoredCredential | undefined>;
  credentials(): Promise<StoredCredential[]>;
  /** Revokes a credential; false when no live credential has this id. */
  revokeCredential(id: string): Promise<boolean>;
  /** Binds `agent` to the credential unless another agent already is; returns the bound agent. */
  bindCredentialAgent(id: string, agent: string): Promise<string | undefined>;
  /** Records that `workspace` may read these chunks (it uploaded them). */
  referenceChunks(workspace: string, hashes: readonly string[]): Promise<void>;
  /** The subset of `hashes` that `workspace` may read. */
  referencedChunks(workspace: string, hashes: readonly string[]): Promise<Set<string>>;
}

/** The chunk hashes the entries of a commit name: the commit gives its workspace these. */
export function entryChunks(entries: readonly ManifestEntry[]): string[] {
  const hashes = new Set<string>();
  for (const entry of entries) {
    if (entry.content.kind === 'file') for (const [hash] of entry.content.chunks) hashes.add(hash);
  }
  return [...hashes];
}

/** The chunks a stored snapshot manifest names (its JSON text was validated on upload). */
export function manifestChunks(manifest: string): string[] {
  return snapshotChunks(JSON.parse(manifest) as Pick<SnapshotManifest, 'packages'>);
}
