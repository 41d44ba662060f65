/**
 * `--otlp` on the command line: `warmsync serve` and `warmsync agent` as real processes send their
 * spans to a receiver (the flag, and WARMSYNC_OTLP); without either, the SDK is never loaded.
 */
import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, tempDir, waitUntil } from '../helpers/harness.ts';
import { startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { freePort, startCli, stopAllCli, waitHealthy } from '../helpers/processes.ts';

afterEach(async () => {
  await stopAllCli();
  await cleanup();
});

const SRC = join(import.meta.dir, '..', '..', 'src');

describe('warmsync --otlp', () => {
  it('sends the spans of serve and of two agents, which flush them when stopped', async () => {
    const receiver = startOtlpReceiver();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const hub = startCli([
      'serve',
      '--data',
      tempDir(),
      '--port',
      String(port),
      '--no-auth',
      '--otlp',
      receiver.url,
    ]);
    await waitHealthy(url);
    const dirA = tempDir();
    const dirB = tempDir();
    const agent = (dir: string, otlp: string[], env?: Record<string, string>) =>
      startCli(
        ['agent', dir, '--server', url, '--workspace', 'cli', '--state', tempDir(), '--no-prewarm', ...otlp],
        {
          env,
        },
      );
    const a = agent(dirA, ['--otlp', receiver.url]);
    const b = agent(dirB, [], { WARMSYNC_OTLP: receiver.url });
    await waitUntil(
      () => a.output().includes('watching') && b.output().includes('watching'),
      'both agents up',
    );
    writeFileSync(join(dirA, 'from-cli.txt'), 'traced\n');
    await waitUntil(() => existsSync(join(dirB, 'from-cli.txt')), 'the edit on the peer');
    // Stopping sends what is queued: no wait for the batch delay.
    await Promise.all([a.kill(), b.kill(), hub.kill()]);
    const names = receiver.spans.map((s) => `${s.service}:${s.name}`);
    expect(names).toContain('warmsync-agent:push');
    expect(names).toContain('warmsync-hub:push');
    expect(names).toContain('warmsync-hub:commit');
    expect(names).toContain('warmsync-hub:fan-out');
    expect(names).toContain('warmsync-agent:apply');
    expect(hub.output()).toContain(`traces to ${receiver.url}/v1/traces`);
  }, 60_000);

  it('refuses an --otlp value that is not an http(s) URL', async () => {
    const serve = startCli([
      'serve',
      '--data',
      tempDir(),
      '--port',
      '0',
      '--no-auth',
      '--otlp',
      'collector:4318',
    ]);
    expect(await serve.finished()).toContain('otlp: must be the http:// or https:// URL');
    expect(serve.process.exitCode).toBe(2);
  });

  it('loads no part of the OpenTelemetry SDK when tracing is off', () => {
    // What every command imports at start, and the traced modules themselves.
    const modules = ['cli/main.ts', 'cli/serve.ts', 'cli/agent.ts', 'server/app.ts', 'agent/agent.ts'];
    const script = `
      process.argv = [process.argv[0], 'warmsync', '--version'];
      for (const m of ${JSON.stringify(modules.map((m) => join(SRC, m)))}) await import(m);
      const sdk = Object.keys(require.cache).filter((k) => /@opentelemetry[\\\\/](sdk-|exporter-|otlp-|resources|core)/.test(k));
      console.log(JSON.stringify(sdk));`;
    const run = Bun.spawnSync([process.execPath, '-e', script], {
      env: { ...process.env, WARMSYNC_OTLP: '' },
    });
    const listed = run.stdout
      .toString()
      .split('\n')
      .find((line) => line.startsWith('['));
    expect(listed).toBeDefined();
    expect(JSON.parse(listed!)).toEqual([]);
  });
});
