import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real `prometheus` process on a loopback port with its own temporary storage. */
export interface PrometheusServer {
  url: string;
  stop(): Promise<void>;
}

/** A free loopback TCP port (released just before use; good enough for a test). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 200 ms; `gone` names a reason to stop waiting early (a crashed process). */
export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  gone: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const reason = gone();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (await check().catch(() => false)) return;
    await Bun.sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Starts `prometheus` scraping `targetPort` on 127.0.0.1 every second, and resolves once it answers
 * `/-/ready`. Fails (never skips) when the binary is missing: CI installs it.
 */
export async function startPrometheus(targetPort: number): Promise<PrometheusServer> {
  const binary = Bun.which('prometheus');
  if (!binary)
    throw new Error("the 'prometheus' binary is not on PATH; install it (apt-get install -y prometheus)");
  const dir = await mkdtemp(join(tmpdir(), 'warmsync-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: warmsync',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${targetPort}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn(
    [
      binary,
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdout: 'ignore', stderr: 'pipe' },
  );
  const stop = async () => {
    proc.kill();
    await proc.exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `Prometheus at ${url} to be ready`,
      20_000,
      async () => (await fetch(`${url}/-/ready`)).ok,
      () => (proc.exitCode === null ? undefined : `prometheus exited with code ${proc.exitCode}`),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
