/**
 * Uploading the dependency snapshot of the checkout's package-lock.json to a warmsync hub from CI,
 * as `warmsync prewarm DIR --server URL` does from a laptop: `npm ci --ignore-scripts` in a
 * throwaway folder that holds only package.json and the lockfile, then the tarball of every package
 * it placed, cut into chunks, uploaded (only the chunks the hub lacks) with the manifest last. A
 * dev container whose agent starts on the same lockfile then restores node_modules from the hub
 * instead of running npm.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError, npmCi, readLockfile, stageInstallInputs } from '../src/prewarm/npm-install.ts';
import { SnapshotUploadError, uploadSnapshot } from '../src/prewarm/snapshot-upload.ts';
import { createSnapshotClient, HubRequestError } from './hub-client.ts';

/** What the snapshot step did; `note` is one sentence for the log and the job summary. */
export interface SnapshotUpload {
  uploaded: boolean;
  /** Hex SHA-256 of package-lock.json: the snapshot's key at the hub. */
  lockHash: string | undefined;
  note: string;
}

export interface SnapshotRequest {
  repoDir: string;
  serverUrl: string;
  workspace: string;
  token: string | undefined;
  /** The npm cache npm ci installs with, and the upload reads the tarballs from. */
  npmCache: string;
  /** The npm user config (the runner's, never the checkout's `.npmrc`). */
  userconfig: string;
  /** Where the throwaway install folder goes. */
  workRoot: string;
  log: (line: string) => void;
}

/**
 * Installs and uploads the snapshot of `repoDir`'s package-lock.json. Expected failures (no
 * lockfile, npm failing, the hub unreachable or refusing) come back as `uploaded: false` with the
 * reason; the caller decides whether that fails the step.
 */
export async function uploadDependencySnapshot(request: SnapshotRequest): Promise<SnapshotUpload> {
  const where = `${request.serverUrl} (workspace ${request.workspace})`;
  const lockfile = readLockfile(request.repoDir);
  if (!lockfile)
    return {
      uploaded: false,
      lockHash: undefined,
      note: `No dependency snapshot was uploaded to ${where}: the repository has no package-lock.json at its root (only npm lockfiles are snapshotted).`,
    };
  const short = lockfile.hash.slice(0, 12);
  const build = mkdtempSync(join(request.workRoot, 'warmsync-snapshot-'));
  try {
    stageInstallInputs(request.repoDir, build);
    request.log(`Installing lockfile ${short} with npm ci --ignore-scripts for the snapshot`);
    await npmCi(build, {
      cache: request.npmCache,
      policy: { allowScripts: false, userconfig: request.userconfig },
    });
    const client = createSnapshotClient(request);
    const report = await uploadSnapshot(client, {
      installRoot: build,
      lockfile: lockfile.bytes.toString('utf8'),
      lockHash: lockfile.hash,
      npmCache: request.npmCache,
    });
    return {
      uploaded: true,
      lockHash: lockfile.hash,
      note:
        `Dependency snapshot ${short} uploaded to ${where}: ${report.packages} package tarballs, ${report.bytes} bytes; ` +
        `${report.chunksUploaded} of ${report.chunks} chunks sent (${report.bytesUploaded} bytes), the rest were on the hub already.`,
    };
  } catch (error) {
    if (
      error instanceof InstallError ||
      error instanceof SnapshotUploadError ||
      error instanceof HubRequestError
    )
      return {
        uploaded: false,
        lockHash: lockfile.hash,
        note: `No dependency snapshot was uploaded to ${where}: ${error.message}`,
      };
    throw error;
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}
