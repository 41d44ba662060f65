/**
 * `warmsync prewarm DIR --server URL --workspace NAME [--restore]`: the composition root of
 * dependency snapshots. Without `--restore`, installs DIR's lockfile with `npm ci --ignore-scripts`
 * in a throwaway folder and uploads the tarballs it placed as the snapshot of that lockfile; with
 * it, restores DIR's `node_modules` from the hub (falling back to `npm ci`), as the agent does at
 * start, running install scripts only with `--allow-scripts`.
 */
import { mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { HubClient, HubError, isHubUrl, serverUrls } from '../agent/client.ts';
import { workspaceNameSchema } from '../core/protocol.ts';
import { InstallError, npmCi, readLockfile, stageInstallInputs } from '../prewarm/npm-install.ts';
import { restoreNodeModules } from '../prewarm/restore-or-install.ts';
import { SnapshotUploadError, uploadSnapshot } from '../prewarm/snapshot-upload.ts';
import { npmPolicyFromFlags } from './npm-flags.ts';
import { readCaOption } from './tls-files.ts';
import { UserError } from './user-error.ts';

const OPTIONS = {
  server: { type: 'string' },
  workspace: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  restore: { type: 'boolean' },
  'npm-cache': { type: 'string' },
  'allow-scripts': { type: 'boolean' },
  npmrc: { type: 'string' },
} as const;

const Flags = z.object({
  dir: z.string().min(1),
  server: z.string().refine((value) => serverUrls(value).length > 0 && serverUrls(value).every(isHubUrl), {
    message: '--server must be a URL such as http://127.0.0.1:7420 or https://hub.example.com:7420',
  }),
  workspace: workspaceNameSchema,
  token: z.string().min(1).optional(),
  ca: z.string().min(1).optional(),
  restore: z.boolean(),
  npmCache: z.string().min(1),
  allowScripts: z.boolean(),
  npmrc: z.string().min(1).optional(),
});

function parseFlags(args: string[]): z.infer<typeof Flags> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UserError(`prewarm: ${(error as Error).message}`, 2);
  }
  if (parsed.positionals.length > 1) throw new UserError('prewarm: expected at most one folder', 2);
  const flags = Flags.safeParse({
    dir: parsed.positionals[0] ?? '.',
    server: parsed.values.server ?? process.env.WARMSYNC_SERVER,
    workspace: parsed.values.workspace ?? process.env.WARMSYNC_WORKSPACE,
    token: parsed.values.token ?? process.env.WARMSYNC_TOKEN,
    ca: parsed.values.ca,
    restore: parsed.values.restore ?? false,
    npmCache: parsed.values['npm-cache'] ?? join(homedir(), '.cache', 'warmsync', 'npm'),
    allowScripts: parsed.values['allow-scripts'] ?? false,
    npmrc: parsed.values.npmrc,
  });
  if (!flags.success) {
    const issue = flags.error.issues[0];
    throw new UserError(`prewarm: ${issue?.path.join('.') || 'flags'}: ${issue?.message}`, 2);
  }
  return flags.data;
}

/** Runs the snapshot modes of `warmsync prewarm`; returns the exit code. */
export async function runSnapshotCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args);
  const dir = resolve(flags.dir);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new UserError(`prewarm: '${flags.dir}' is not a folder`);
  if (flags.allowScripts && !flags.restore)
    throw new UserError(
      'prewarm: --allow-scripts goes with --restore; a snapshot holds registry tarballs only, so making one runs no script',
      2,
    );
  const lockfile = readLockfile(dir);
  if (!lockfile)
    throw new UserError(`prewarm: ${dir} has no package-lock.json (only npm lockfiles are snapshotted)`);
  const lockHash = lockfile.hash;
  const client = new HubClient({
    server: flags.server,
    workspace: flags.workspace,
    token: flags.token,
    ca: readCaOption(flags.ca),
    agentId: 'snapshot',
  });
  const log = (line: string) => console.log(`[prewarm] ${line}`);
  const policy = npmPolicyFromFlags(
    { allowScripts: flags.allowScripts, npmrc: flags.npmrc },
    realpathSync(dir),
    log,
  );
  const npmCache = resolve(flags.npmCache);
  try {
    if (flags.restore) {
      const outcome = await restoreNodeModules({ dir, client, npmCache, policy, log });
      return outcome === 'failed' ? 1 : 0;
    }
    const build = mkdtempSync(join(tmpdir(), 'warmsync-snapshot-'));
    try {
      stageInstallInputs(dir, build);
      log(`installing lockfile ${lockHash.slice(0, 12)} with npm ci --ignore-scripts in ${build}`);
      await npmCi(build, { cache: npmCache, policy });
      const report = await uploadSnapshot(client, {
        installRoot: build,
        lockfile: lockfile.bytes.toString('utf8'),
        lockHash,
        npmCache,
      });
      log(
        `snapshot ${lockHash.slice(0, 12)} stored in workspace ${flags.workspace}: ${report.packages} package tarballs, ` +
          `${report.bytes} bytes; ${report.chunksUploaded} of ${report.chunks} chunks uploaded (${report.bytesUploaded} bytes)`,
      );
      return 0;
    } finally {
      rmSync(build, { recursive: true, force: true });
    }
  } catch (error) {
    if (error instanceof HubError || error instanceof InstallError || error instanceof SnapshotUploadError)
      throw new UserError(`prewarm: ${error.message}`);
    throw error;
  }
}
