/** `warmsync serve`: the hub on embedded storage. Composition root of the server process. */
import { z } from 'zod';
import { startEmbeddedServer } from '../server/start.ts';
import { parseFlags, validateFlags } from './args.ts';
import type { Command } from './command.ts';
import { UserError } from './user-error.ts';

const HELP = `Usage: warmsync serve [--data DIR] [--host 127.0.0.1] [--port 7420] [--token TOKEN]

Runs the sync hub. Manifests, version vectors and the audit log live in DIR/warmsync.db
(bun:sqlite); file content lives in DIR/chunks as content-addressed chunks.

Options:
  --data DIR        data folder (default ./warmsync-data)
  --host HOST       address to listen on (default 127.0.0.1)
  --port PORT       port (default 7420; 0 picks a free one)
  --token TOKEN     require this bearer token on every /v1 request (or WARMSYNC_TOKEN)
  --allow-git       let paths under .git/ sync (off by default)
  --max-body BYTES  largest request body accepted (default 67108864)

Endpoints: GET /healthz, GET /metrics (Prometheus), GET /v1/status.`;

const flagsSchema = z.object({
  data: z.string().min(1),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  token: z.string().min(1).optional(),
  'allow-git': z.boolean(),
  'max-body': z.coerce.number().int().min(1024),
});

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
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const flags = validateFlags(flagsSchema, {
      ...values,
      token: values.token ?? process.env.WARMSYNC_TOKEN,
    });
    let server: ReturnType<typeof startEmbeddedServer>;
    try {
      server = startEmbeddedServer({
        dataDir: flags.data,
        host: flags.host,
        port: flags.port,
        token: flags.token,
        allowGit: flags['allow-git'],
        maxBodyBytes: flags['max-body'],
        log: (line) => console.log(`[serve] ${line}`),
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE') throw new UserError(`port ${flags.port} on ${flags.host} is already in use`);
      throw new UserError(
        `cannot start the server: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    console.log(`[serve] listening on ${server.url} (data in ${flags.data})`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        console.log('[serve] stopping');
        server.stop().then(resolve, resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
