/**
 * `warmsync serve`: the hub, on embedded storage by default or as one scale-out replica with
 * `--postgres`. Composition root of the server process.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_HISTORY_DAYS } from '../core/history.ts';
import { DEFAULT_COPIES_PER_PATH } from '../core/settle.ts';
import { loadOrCreateAdminToken } from '../server/admin-token.ts';
import type { SyncServer } from '../server/app.ts';
import { isLoopbackHost } from '../server/origin.ts';
import { parseRedisUrl } from '../server/redis-connect.ts';
import { startEmbeddedServer } from '../server/start.ts';
import { startScaleServer } from '../server/start-scale.ts';
import { parseS3Url } from '../server/store/chunks-s3.ts';
import type { Traces } from '../traces/traces.ts';
import { parseFlags, validateFlags } from './args.ts';
import type { Command } from './command.ts';
import { readServerTls, type ServerTls } from './tls-files.ts';
import { otlpFlagSchema, startTraces, stopTraces } from './traces.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync serve [--data DIR] [--host 127.0.0.1] [--port 7420] [--token TOKEN]
                      [--tls-cert FILE --tls-key FILE]
       warmsync serve --postgres URL --token TOKEN [--redis URL] [--chunks DIR|s3://BUCKET/PREFIX] [...]

Runs the sync hub. By default manifests, version vectors and the audit log live in
DIR/warmsync.db (bun:sqlite) and file content in DIR/chunks as content-addressed chunks.

Every request but GET /healthz needs the admin credential (Authorization: Bearer TOKEN). Without
--token the hub makes one on first start in DIR/admin-token (mode 0600) and reads it from there
afterwards; pass it to agents with --token "$(cat DIR/admin-token)" or WARMSYNC_TOKEN.

With --postgres the hub is one replica of many behind a load balancer: PostgreSQL holds the
manifests, heads and the audit log (partitioned by month); Redis, when given, caches manifests
and carries each commit to the other replicas' agents within milliseconds; chunks live in a folder
every replica shares (default DIR/chunks) or in S3-compatible object storage.

Options:
  --data DIR              data folder (default ./warmsync-data)
  --host HOST             address to listen on (default 127.0.0.1)
  --port PORT             port (default 7420; 0 picks a free one)
  --token TOKEN           the admin credential (or WARMSYNC_TOKEN); default: DIR/admin-token
  --allow-host NAME       also answer requests for Host NAME (repeatable); IP addresses and
                          localhost are always answered, other names are refused (DNS rebinding)
  --no-auth               ask no credential at all; only with a loopback --host
  --tls-cert FILE         serve HTTPS and WSS with this certificate (PEM; the hub's certificate
                          first, then any intermediates); needs --tls-key
  --tls-key FILE          the certificate's private key (PEM, unencrypted); needs --tls-cert.
                          TLS protects the traffic; the credential is still asked
  --allow-git             let paths under .git/ sync (off by default)
  --max-body BYTES        largest request body accepted (default 67108864)
  --history-days N        keep every version sync replaces or deletes for N days (default 7;
                          fractions allowed), for warmsync history and restore; tombstones past
                          it and below every connected agent's cursor are dropped too
  --conflict-copies N     conflict copies kept per path (default 10); past it the oldest is
                          deleted (and kept in history)
  --otlp URL              send traces of pushes, commits, fan-outs and chunk fetches to this
                          OpenTelemetry collector over OTLP/HTTP, e.g. http://127.0.0.1:4318
                          (or WARMSYNC_OTLP); off by default

Scale-out:
  --postgres URL          postgres://USER:PASSWORD@HOST:PORT/DB (or WARMSYNC_POSTGRES); replicas
                          need --token (the same on each) or --no-auth
  --redis URL             cache and cross-replica bus (or WARMSYNC_REDIS): redis://HOST:PORT,
                          a cluster as redis+cluster://HOST:PORT,HOST:PORT,..., or a master
                          behind Sentinel as redis+sentinel://HOST:PORT,.../MASTER
  --chunks DIR|s3://B/P   shared chunk folder, or bucket B under prefix P
  --s3-endpoint URL       S3-compatible endpoint (or AWS_ENDPOINT_URL); AWS when unset
  --s3-region REGION      region (or AWS_REGION; default us-east-1)
                          credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY

Endpoints: GET /healthz (open: state of each backing service; 503 when the durable store is down),
GET /metrics (Prometheus) and GET /v1/status, both with the credential.`;

const flagsSchema = z.object({
  data: z.string().min(1),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  token: z.string().min(1).optional(),
  'allow-host': z.array(
    z
      .string()
      .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'must be a host name like hub.example.com'),
  ),
  'no-auth': z.boolean(),
  'tls-cert': z.string().min(1).optional(),
  'tls-key': z.string().min(1).optional(),
  'allow-git': z.boolean(),
  'max-body': z.coerce.number().int().min(1024),
  'history-days': z.coerce.number().positive().max(36_500),
  'conflict-copies': z.coerce.number().int().min(1).max(1000),
  postgres: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres://USER@HOST:PORT/DB URL')
    .optional(),
  redis: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseRedisUrl(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^--redis /, '') });
      }
    })
    .optional(),
  chunks: z
    .string()
    .min(1)
    .refine(
      (v) => !v.startsWith('s3:') || parseS3Url(v) !== undefined,
      'must be a folder or s3://BUCKET/PREFIX',
    )
    .optional(),
  's3-endpoint': z.string().url().optional(),
  's3-region': z.string().min(1).optional(),
  otlp: otlpFlagSchema,
});

type Flags = z.infer<typeof flagsSchema>;

export const serveCommand: Command = {
  summary: 'run the sync hub',
  async run(args) {
    const { values } = parseFlags(args, {
      data: { type: 'string', default: './warmsync-data' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '7420' },
      token: { type: 'string' },
      'allow-host': { type: 'string', multiple: true, default: [] },
      'no-auth': { type: 'boolean', default: false },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'allow-git': { type: 'boolean', default: false },
      'max-body': { type: 'string', default: String(64 * 1024 * 1024) },
      'history-days': { type: 'string', default: String(DEFAULT_HISTORY_DAYS) },
      'conflict-copies': { type: 'string', default: String(DEFAULT_COPIES_PER_PATH) },
      postgres: { type: 'string' },
      redis: { type: 'string' },
      chunks: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-region': { type: 'string' },
      otlp: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const flags = validateFlags(flagsSchema, {
      ...values,
      token: values.token ?? process.env.WARMSYNC_TOKEN,
      postgres: values.postgres ?? process.env.WARMSYNC_POSTGRES,
      redis: values.redis ?? process.env.WARMSYNC_REDIS,
      otlp: values.otlp ?? (process.env.WARMSYNC_OTLP || undefined),
    });
    if (!flags.postgres && (flags.redis || flags.chunks))
      throw new UserError('--redis and --chunks are for scale-out replicas: give --postgres too', 2);
    // Before the credential, which may write DATA/admin-token: a bad flag leaves nothing behind.
    const tls = serverTls(flags);
    const log = (line: string) => console.log(`[serve] ${line}`);
    const token = credential(flags, log);
    if (!tls && !isLoopbackHost(flags.host))
      log(
        `serving plain HTTP on ${flags.host}: the credential and file content cross the network unencrypted; give --tls-cert and --tls-key, or put a TLS proxy in front`,
      );
    const traces = await startTraces(flags.otlp, 'warmsync-hub', log);
    // The signal handlers are in place before the hub listens, so a stop asked for as soon as
    // the start-up line appears (a supervisor, a test) is always a clean one.
    let stopAsked: () => void = () => {};
    const stopRequest = new Promise<void>((resolve) => {
      stopAsked = resolve;
    });
    const onSignal = () => stopAsked();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let server: { url: string; sync: SyncServer; stop(): Promise<void> };
    try {
      server = flags.postgres
        ? await startReplica(flags, flags.postgres, token, tls, log, traces)
        : startEmbedded(flags, token, tls, log, traces);
    } catch (error) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await stopTraces(traces, log);
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE') throw new UserError(`port ${flags.port} on ${flags.host} is already in use`);
      throw new UserError(
        `cannot start the server: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
    const where = flags.postgres
      ? `replica on postgres${flags.redis ? ' + redis' : ''}, chunks in ${flags.chunks ?? join(flags.data, 'chunks')}`
      : `data in ${flags.data}`;
    log(`listening on ${server.url} (${where}${tls ? `; TLS ${tls.summary}` : ''})`);
    // As Jupyter does: a link that logs this browser in once, so the credential never goes in a URL.
    // The code lives in the store, so that any replica redeems it; a store that is down now (a
    // replica may start before its database) leaves the credential login.
    const code = await server.sync.dashboard.issueLoginCode().catch((error: Error) => {
      log(`dashboard: no login link (${error.message}); log in at ${server.url}/login with a credential`);
      return undefined;
    });
    if (code !== undefined)
      log(
        `dashboard: open ${server.url}/login?code=${code} (the link works once, for 10 minutes; after that, log in with a credential)`,
      );
    await stopRequest;
    log('stopping');
    await server.stop().catch(() => {});
    await stopTraces(traces, log).catch(() => {});
    return 0;
  },
};

/** The hub's certificate and key when both TLS flags are given; a UserError for one alone. */
function serverTls(flags: Flags): ServerTls | undefined {
  const cert = flags['tls-cert'];
  const key = flags['tls-key'];
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    const [given, missing] = cert === undefined ? ['--tls-key', '--tls-cert'] : ['--tls-cert', '--tls-key'];
    throw new UserError(`${given} needs ${missing}: give both for HTTPS, or neither`, 2);
  }
  return readServerTls(cert, key);
}

/**
 * The admin credential this hub asks for: --token or WARMSYNC_TOKEN, else (embedded hub) the one in
 * DATA/admin-token, made on first start; none only with --no-auth, and then on loopback only.
 */
function credential(flags: Flags, log: (line: string) => void): string | undefined {
  if (flags['no-auth']) {
    if (flags.token) throw new UserError('--no-auth and --token contradict each other: give one', 2);
    if (!isLoopbackHost(flags.host))
      throw new UserError(
        `refusing --no-auth on ${flags.host}: without a credential the hub may only listen on loopback (127.0.0.1, ::1, localhost)`,
        2,
      );
    log('no credential asked (--no-auth): anyone on this machine can read and write every workspace');
    return undefined;
  }
  if (flags.token) return flags.token;
  if (flags.postgres)
    throw new UserError(
      'a replica needs --token (or WARMSYNC_TOKEN), the same on every replica, so agents can use any of them',
      2,
    );
  let admin: ReturnType<typeof loadOrCreateAdminToken>;
  try {
    admin = loadOrCreateAdminToken(flags.data);
  } catch (error) {
    throw new UserError(error instanceof Error ? error.message : String(error));
  }
  log(
    `${admin.created ? 'made the' : 'using the'} admin credential in ${admin.path}: give agents --token "$(cat ${admin.path})" or WARMSYNC_TOKEN`,
  );
  return admin.token;
}

function startEmbedded(
  flags: Flags,
  token: string | undefined,
  tls: ServerTls | undefined,
  log: (line: string) => void,
  traces: Traces | undefined,
) {
  return startEmbeddedServer({
    dataDir: flags.data,
    host: flags.host,
    port: flags.port,
    token,
    allowedHosts: flags['allow-host'],
    allowGit: flags['allow-git'],
    maxBodyBytes: flags['max-body'],
    historyDays: flags['history-days'],
    copiesPerPath: flags['conflict-copies'],
    tls,
    log,
    traces,
  });
}

function startReplica(
  flags: Flags,
  postgres: string,
  token: string | undefined,
  tls: ServerTls | undefined,
  log: (line: string) => void,
  traces: Traces | undefined,
) {
  return startScaleServer({
    postgres,
    redis: flags.redis,
    chunks: flags.chunks ?? join(flags.data, 'chunks'),
    s3: { endpoint: flags['s3-endpoint'], region: flags['s3-region'] },
    host: flags.host,
    port: flags.port,
    token,
    allowedHosts: flags['allow-host'],
    allowGit: flags['allow-git'],
    maxBodyBytes: flags['max-body'],
    historyDays: flags['history-days'],
    copiesPerPath: flags['conflict-copies'],
    tls,
    log,
    traces,
  });
}
