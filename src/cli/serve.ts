/**
 * `warmsync serve`: the hub, on embedded storage by default or as one scale-out replica with
 * `--postgres`. Composition root of the server process.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { startEmbeddedServer } from '../server/start.ts';
import { startScaleServer } from '../server/start-scale.ts';
import { parseS3Url } from '../server/store/chunks-s3.ts';
import { parseFlags, validateFlags } from './args.ts';
import type { Command } from './command.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync serve [--data DIR] [--host 127.0.0.1] [--port 7420] [--token TOKEN]
       warmsync serve --postgres URL [--redis URL] [--chunks DIR|s3://BUCKET/PREFIX] [...]

Runs the sync hub. By default manifests, version vectors and the audit log live in
DIR/warmsync.db (bun:sqlite) and file content in DIR/chunks as content-addressed chunks.

With --postgres the hub is one replica of many behind a load balancer: PostgreSQL holds the
manifests, heads and the audit log (partitioned by month); Redis, when given, caches manifests
and carries each commit to the other replicas' agents within milliseconds; chunks live in a folder
every replica shares (default DIR/chunks) or in S3-compatible object storage.

Options:
  --data DIR              data folder (default ./warmsync-data)
  --host HOST             address to listen on (default 127.0.0.1)
  --port PORT             port (default 7420; 0 picks a free one)
  --token TOKEN           require this bearer token on every /v1 request (or WARMSYNC_TOKEN)
  --allow-git             let paths under .git/ sync (off by default)
  --max-body BYTES        largest request body accepted (default 67108864)

Scale-out:
  --postgres URL          postgres://USER:PASSWORD@HOST:PORT/DB (or WARMSYNC_POSTGRES)
  --redis URL             redis://HOST:PORT, cache and cross-replica bus (or WARMSYNC_REDIS)
  --chunks DIR|s3://B/P   shared chunk folder, or bucket B under prefix P
  --s3-endpoint URL       S3-compatible endpoint (or AWS_ENDPOINT_URL); AWS when unset
  --s3-region REGION      region (or AWS_REGION; default us-east-1)
                          credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY

Endpoints: GET /healthz (state of each backing service; 503 when the durable store is down),
GET /metrics (Prometheus), GET /v1/status.`;

const flagsSchema = z.object({
  data: z.string().min(1),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  token: z.string().min(1).optional(),
  'allow-git': z.boolean(),
  'max-body': z.coerce.number().int().min(1024),
  postgres: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres://USER@HOST:PORT/DB URL')
    .optional(),
  redis: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis://HOST:PORT URL')
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
      'allow-git': { type: 'boolean', default: false },
      'max-body': { type: 'string', default: String(64 * 1024 * 1024) },
      postgres: { type: 'string' },
      redis: { type: 'string' },
      chunks: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-region': { type: 'string' },
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
    });
    if (!flags.postgres && (flags.redis || flags.chunks))
      throw new UserError('--redis and --chunks are for scale-out replicas: give --postgres too', 2);
    const log = (line: string) => console.log(`[serve] ${line}`);
    let server: { url: string; stop(): Promise<void> };
    try {
      server = flags.postgres ? await startReplica(flags, flags.postgres, log) : startEmbedded(flags, log);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE') throw new UserError(`port ${flags.port} on ${flags.host} is already in use`);
      throw new UserError(
        `cannot start the server: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
    const where = flags.postgres
      ? `replica on postgres${flags.redis ? ' + redis' : ''}, chunks in ${flags.chunks ?? join(flags.data, 'chunks')}`
      : `data in ${flags.data}`;
    log(`listening on ${server.url} (${where})`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        log('stopping');
        server.stop().then(resolve, resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};

function startEmbedded(flags: Flags, log: (line: string) => void) {
  return startEmbeddedServer({
    dataDir: flags.data,
    host: flags.host,
    port: flags.port,
    token: flags.token,
    allowGit: flags['allow-git'],
    maxBodyBytes: flags['max-body'],
    log,
  });
}

function startReplica(flags: Flags, postgres: string, log: (line: string) => void) {
  return startScaleServer({
    postgres,
    redis: flags.redis,
    chunks: flags.chunks ?? join(flags.data, 'chunks'),
    s3: { endpoint: flags['s3-endpoint'], region: flags['s3-region'] },
    host: flags.host,
    port: flags.port,
    token: flags.token,
    allowGit: flags['allow-git'],
    maxBodyBytes: flags['max-body'],
    log,
  });
}
