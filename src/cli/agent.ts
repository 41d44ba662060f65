/** `warmsync agent DIR`: keeps DIR identical to a workspace. Composition root of the agent process. */
import { realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { Agent } from '../agent/agent.ts';
import { HubClient, HubError, isHubUrl, serverUrls } from '../agent/client.ts';
import { handleControl } from '../agent/control.ts';
import { type ControlSocket, serveControl } from '../agent/control-socket.ts';
import { type MetricsEndpoint, serveAgentMetrics } from '../agent/metrics-endpoint.ts';
import { PrewarmRunner } from '../agent/prewarm-runner.ts';
import { controlSocketPath, defaultStateDir } from '../agent/state-dir.ts';
import { describeProblems } from '../core/flush.ts';
import type { ProjectFile } from '../core/project-file.ts';
import { type Problem, workspaceNameSchema } from '../core/protocol.ts';
import { ModeMap, SYNC_MODES } from '../core/sync-mode.ts';
import { createAgentMetrics } from '../metrics/agent-metrics.ts';
import { parseFlags, validateFlags } from './args.ts';
import type { Command } from './command.ts';
import { NPM_FLAGS_HELP, npmPolicyFromFlags } from './npm-flags.ts';
import { checkBinding, readProjectFile, resolveTarget } from './project.ts';
import { readCaOption } from './tls-files.ts';
import { otlpFlagSchema, startTraces, stopTraces } from './traces.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync agent DIR --server URL --workspace NAME [options]

Watches DIR and keeps it identical to the workspace on the hub, both ways, until stopped.
Settings may also come from DIR/warmsync.toml (see the README, "Project file"); flags and
WARMSYNC_* variables override it.

Options:
  --server URL[,URL...] hub address, e.g. http://127.0.0.1:7420 or https://hub.example.com:7420
                        (or WARMSYNC_SERVER); with several replicas' URLs, the agent moves to
                        the next one when one fails
  --workspace NAME      workspace name (or WARMSYNC_WORKSPACE)
  --token TOKEN         bearer token if the hub requires one (or WARMSYNC_TOKEN)
  --ca FILE             also trust this private CA (PEM) for the hub's certificate (or
                        WARMSYNC_CA); certificates are always verified
  --mode MODE           two-way (default), send-only (push, never apply), receive-only (apply;
                        local edits stay local until warmsync revert) or replica (an exact
                        mirror: local edits are overwritten); the project file's [[paths]]
                        rules override it per path
  --role ROLE           follow the project file's path rules for this role (or WARMSYNC_ROLE),
                        e.g. container or laptop
  --state DIR           where the agent keeps its own state (default: XDG state dir)
  --once                reconcile both ways once; exit 0 when DIR and the hub agree, 1 (naming
                        each path and reason) while the hub refused a change or a remote
                        change could not be written here
  --sync-git            also sync .git/ (the hub must run with --allow-git)
  --sync-node-modules   also sync node_modules/
  --poll                do not use filesystem events (network or bind mounts)
  --no-fsync            do not flush remote versions to disk before they become visible
                        (only for throwaway trees: a power loss can then tear a file)
  --rescan-ms MS        shortest interval between safety rescans (default 5000; at least
                        400x the last scan's time)
  --concurrency N       file operations in flight (default 64)
  --npm-cache DIR       the shared npm cache pre-warming fills (default ~/.cache/warmsync/npm)
  --metrics-port PORT   serve Prometheus metrics on 127.0.0.1:PORT/metrics
  --no-prewarm          no background pre-warming: no node_modules restore at start, no
                        warming of newly imported npm packages
  --otlp URL            send traces of pushes and applies to this OpenTelemetry collector
                        over OTLP/HTTP, e.g. http://127.0.0.1:4318 (or WARMSYNC_OTLP); off
                        by default
${NPM_FLAGS_HELP}

Pre-warming (on unless --no-prewarm): when DIR has a package-lock.json and no node_modules,
the agent restores node_modules from the hub's snapshot of that lockfile (warmsync prewarm
--server), checking every package against the lockfile's integrity, or runs npm ci, in the
background; it also warms npm packages that pushed or applied sources import but node_modules
lacks into the shared npm cache. npm never runs scripts unless --allow-scripts is given, and
never reads an .npmrc from DIR.

DIR holds only your files: the agent's state lives outside it.`;

const flagsSchema = z.object({
  server: z.string().refine(
    (value) => {
      const urls = serverUrls(value);
      return urls.length > 0 && urls.every(isHubUrl);
    },
    {
      message:
        'must be a URL such as http://127.0.0.1:7420 or https://hub.example.com:7420, or several separated by commas',
    },
  ),
  workspace: workspaceNameSchema,
  token: z.string().min(1).optional(),
  mode: z.enum(SYNC_MODES).optional(),
  role: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'roles are 1-64 of A-Z a-z 0-9 . _ -')
    .optional(),
  ca: z.string().min(1).optional(),
  state: z.string().min(1).optional(),
  once: z.boolean(),
  'sync-git': z.boolean(),
  'sync-node-modules': z.boolean(),
  poll: z.boolean(),
  'no-fsync': z.boolean(),
  'rescan-ms': z.coerce.number().int().min(100).optional(),
  concurrency: z.coerce.number().int().min(1).max(4096),
  'no-prewarm': z.boolean(),
  'metrics-port': z.coerce.number().int().min(0).max(65535).optional(),
  'npm-cache': z.string().min(1).optional(),
  'allow-scripts': z.boolean(),
  npmrc: z.string().min(1).optional(),
  otlp: otlpFlagSchema,
});

export const agentCommand: Command = {
  summary: 'keep a folder in sync with a workspace',
  async run(args) {
    const { values, positionals } = parseFlags(
      args,
      {
        server: { type: 'string' },
        workspace: { type: 'string' },
        token: { type: 'string' },
        ca: { type: 'string' },
        mode: { type: 'string' },
        role: { type: 'string' },
        state: { type: 'string' },
        once: { type: 'boolean', default: false },
        'sync-git': { type: 'boolean', default: false },
        'sync-node-modules': { type: 'boolean', default: false },
        poll: { type: 'boolean', default: false },
        'no-fsync': { type: 'boolean', default: false },
        'rescan-ms': { type: 'string' },
        concurrency: { type: 'string', default: '64' },
        'no-prewarm': { type: 'boolean', default: false },
        'metrics-port': { type: 'string' },
        'npm-cache': { type: 'string' },
        'allow-scripts': { type: 'boolean', default: false },
        npmrc: { type: 'string' },
        otlp: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1)
      throw new UserError('expected exactly one folder: warmsync agent DIR --server URL --workspace NAME', 2);
    const dir = resolveFolder(positionals[0]!);
    const project = readProjectFile(dir);
    const settings: ProjectFile = project?.settings ?? {};
    const target = resolveTarget(values, settings);
    if (target.server === undefined)
      throw new UserError(
        'no hub: pass --server URL (or WARMSYNC_SERVER, or server in DIR/warmsync.toml)',
        2,
      );
    if (target.workspace === undefined)
      throw new UserError(
        'no workspace: pass --workspace NAME (or WARMSYNC_WORKSPACE, or workspace in DIR/warmsync.toml)',
        2,
      );
    const flags = validateFlags(flagsSchema, {
      ...values,
      server: target.server,
      workspace: target.workspace,
      token: values.token ?? process.env.WARMSYNC_TOKEN,
      mode: values.mode ?? settings.mode,
      role: values.role ?? (process.env.WARMSYNC_ROLE || undefined),
      'sync-git': values['sync-git'] || settings.sync_git === true,
      'sync-node-modules': values['sync-node-modules'] || settings.sync_node_modules === true,
      'no-prewarm': values['no-prewarm'] || settings.prewarm?.enabled === false,
      otlp: values.otlp ?? (process.env.WARMSYNC_OTLP || undefined),
    });
    checkBinding(dir, { ...target, server: flags.server, workspace: flags.workspace });
    const ca = readCaOption(flags.ca);
    const modes = new ModeMap(flags.mode ?? 'two-way', settings.paths ?? [], flags.role);
    if (project) console.log(`[agent] settings from ${project.path}`);
    const stateDir = flags.state ?? defaultStateDir(flags.server, flags.workspace, dir);
    const inside = relative(dir, stateDir);
    if (!inside.startsWith('..') && !inside.startsWith('/'))
      throw new UserError('--state must be outside the synced folder', 2);
    const log = (line: string) => console.log(`[agent] ${line}`);
    // The gauges read the agent, which is made below: bind them late.
    let agentRef: Agent | undefined;
    const metrics =
      flags['metrics-port'] === undefined
        ? undefined
        : createAgentMetrics({
            problems: () => agentRef?.problems().length ?? 0,
            pendingRemote: () => agentRef?.pendingCount() ?? 0,
          });
    // Pre-warming runs beside sync; the agent only tells it which paths it pushed or applied.
    const prewarmOn = !flags['no-prewarm'] && !flags.once;
    const policy = prewarmOn
      ? npmPolicyFromFlags({ allowScripts: flags['allow-scripts'], npmrc: flags.npmrc }, dir, log)
      : undefined;
    const prewarm =
      policy === undefined
        ? undefined
        : new PrewarmRunner({
            dir,
            client: new HubClient({
              server: flags.server,
              workspace: flags.workspace,
              token: flags.token,
              ca,
              agentId: 'snapshot',
            }),
            npmCache: flags['npm-cache'] ?? join(homedir(), '.cache', 'warmsync', 'npm'),
            // With --sync-node-modules the hub's copy of node_modules wins; restoring would race it.
            restore: !flags['sync-node-modules'] && settings.prewarm?.restore !== false,
            policy,
            log,
            metrics,
          });
    let initialSyncDone = false;
    const traces = await startTraces(flags.otlp, 'warmsync-agent', log);
    const agent = new Agent({
      dir,
      server: flags.server,
      workspace: flags.workspace,
      token: flags.token,
      ca,
      stateDir,
      allowGit: flags['sync-git'],
      ignore: {
        ignoreGitDir: !flags['sync-git'],
        ignoreNodeModules: !flags['sync-node-modules'],
        extraPatterns: settings.ignore,
      },
      modes,
      merge: settings.merge && {
        enabled: settings.merge.enabled,
        maxBytes: settings.merge.max_bytes,
        except: settings.merge.except,
      },
      poll: flags.poll,
      fsync: !flags['no-fsync'],
      rescanMinMs: flags['rescan-ms'],
      concurrency: flags.concurrency,
      log,
      metrics,
      // Only edits after the first sync count: the first sync's files are not new imports.
      onPushed: prewarm && ((event) => initialSyncDone && prewarm.noteChanged(event.paths)),
      onApplied: prewarm && ((event) => initialSyncDone && prewarm.noteChanged([event.path])),
      otherProblems: prewarm && (() => prewarm.problems()),
      traces,
    });
    agentRef = agent;
    let endpoint: MetricsEndpoint | undefined;
    if (metrics && flags['metrics-port'] !== undefined) {
      try {
        endpoint = serveAgentMetrics(metrics, flags['metrics-port']);
      } catch (error) {
        throw new UserError(
          `cannot serve metrics on port ${flags['metrics-port']}: ${(error as Error).message}`,
        );
      }
      log(`metrics on ${endpoint.url}/metrics`);
    }
    // The control socket (flush, pause, resume, status DIR) is up from the start, initial sync included.
    let control: ControlSocket | undefined;
    if (!flags.once) {
      const target = { agent, workspace: flags.workspace, server: flags.server };
      try {
        control = await serveControl(controlSocketPath(stateDir), (request) =>
          handleControl(target, request),
        );
      } catch (error) {
        await agent.stop().catch(() => {});
        endpoint?.stop();
        throw new UserError(
          `cannot open the control socket ${controlSocketPath(stateDir)}: ${(error as Error).message}`,
        );
      }
    }
    // A continuous agent stops cleanly on SIGINT or SIGTERM from the moment it exists, initial
    // sync included: its state is flushed and its control socket removed.
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        log('stopping');
        control?.close();
        endpoint?.stop();
        await Promise.allSettled([agent.stop(), prewarm?.stop()]);
        await stopTraces(traces, log);
      })();
      return stopping;
    };
    if (!flags.once) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    const progress = startProgress(agent);
    try {
      if (flags.once) {
        const agreed = await agent.syncOnce();
        progress.stop();
        const problems = agent.problems();
        for (const p of problems) console.error(`warmsync: ${p.path}: ${p.message}`);
        await agent.stop();
        endpoint?.stop();
        await stopTraces(traces, log);
        const unsynced = agent.unsynced();
        if (unsynced.length > 0)
          log(`not in sync with workspace ${flags.workspace}: ${describeUnsynced(unsynced)}`);
        else log(agreed ? `in sync with workspace ${flags.workspace}` : 'not yet in sync; run again');
        return agreed ? 0 : 1;
      }
      await agent.start();
      initialSyncDone = true;
      if (stopping) {
        progress.stop();
        await stopping;
        return 0;
      }
      prewarm?.start();
      progress.stop();
      log(`watching ${dir} (workspace ${flags.workspace} on ${flags.server}, agent ${agent.agentId})`);
    } catch (error) {
      progress.stop();
      // Stopped by a signal during the initial sync: that is a clean stop, not a failure.
      if (stopping) {
        await stopping;
        return 0;
      }
      control?.close();
      await agent.stop().catch(() => {});
      endpoint?.stop();
      await stopTraces(traces, log);
      if (error instanceof HubError) throw new UserError(error.message);
      throw error;
    }
    await new Promise<void>((resolve) => {
      const finish = () => stop().then(resolve);
      if (stopping) finish();
      else {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        process.once('SIGINT', finish);
        process.once('SIGTERM', finish);
      }
    });
    return 0;
  },
};

/** One line for the changes that did not sync: each path with its reason, the first 20. */
export function describeUnsynced(problems: readonly Problem[], max = 20): string {
  return describeProblems(problems, max);
}

function resolveFolder(path: string): string {
  try {
    if (!statSync(path).isDirectory()) throw new UserError(`${path} is not a folder`, 2);
    return realpathSync(path);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`folder ${path} does not exist`, 2);
  }
}

/**
 * Progress of the initial sync on a terminal, redrawn in place: while the tree is read, the paths
 * known and bytes moved; once the batch is planned, files and bytes done of total, the rate and
 * the time left (core/progress.ts).
 */
function startProgress(agent: Agent): { stop: () => void } {
  if (!process.stdout.isTTY) return { stop: () => {} };
  const timer = setInterval(() => {
    const batch = agent.progress();
    const moved = agent.bytes.in + agent.bytes.out;
    const line = batch
      ? batch.line
      : `initial sync: reading the tree, ${agent.state.bases.size} paths known, ${(moved / 1_000_000).toFixed(1)} MB moved`;
    process.stdout.write(`\r[agent] ${line}\x1b[K`);
  }, 250);
  return {
    stop: () => {
      clearInterval(timer);
      process.stdout.write('\n');
    },
  };
}
