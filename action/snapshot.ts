/**
 * Uploading a dependency snapshot to a warmsync server from CI. Not wired in yet: the snapshot
 * upload of src/prewarm (snapshot-upload.ts) is being written, and it snapshots an installed
 * node_modules through the hub client, which this Action does not build yet. Until then this says
 * plainly that nothing was uploaded.
 */

/** What the snapshot step did. */
export interface SnapshotUpload {
  uploaded: boolean;
  note: string;
}

/**
 * The single place where the Action will upload the dependency snapshot of `workspace` to
 * `serverUrl`. It uploads nothing yet and says so, so that no run claims an upload that did not
 * happen.
 */
export async function uploadDependencySnapshot(request: {
  serverUrl: string;
  workspace: string;
  token: string | undefined;
  cacheKey: string;
}): Promise<SnapshotUpload> {
  return {
    uploaded: false,
    note: `No dependency snapshot was uploaded to ${request.serverUrl} (workspace ${request.workspace}): snapshot upload is not available in this Action yet.`,
  };
}
