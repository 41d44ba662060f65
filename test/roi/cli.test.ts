import { afterAll, describe, expect, it, spyOn } from 'bun:test';
import { join } from 'node:path';
import { roiCommand } from '../../src/cli/roi.ts';
import { UserError } from '../../src/cli/user-error.ts';

// `warmsync roi` against a loopback stand-in for Prometheus that answers every query with "no
// samples": the command must still print a report, with the config figures and "no data".
const stub = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(request) {
    const resultType = new URL(request.url).pathname.endsWith('query_range') ? 'matrix' : 'vector';
    return Response.json({ status: 'success', data: { resultType, result: [] } });
  },
});
const prometheus = `http://127.0.0.1:${stub.port}`;
const config = join(import.meta.dir, '../../src/roi/examples/roi-config.json');
afterAll(() => stub.stop(true));

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const write = spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  const log = spyOn(console, 'log').mockImplementation((...parts) => {
    chunks.push(`${parts.join(' ')}\n`);
  });
  try {
    return { code: await roiCommand.run(args), out: chunks.join('') };
  } finally {
    write.mockRestore();
    log.mockRestore();
  }
}

async function userError(args: string[]): Promise<UserError> {
  try {
    await run(args);
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error('expected a UserError');
}

describe('warmsync roi', () => {
  it('prints its usage for --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toStartWith(
      'Usage: warmsync roi --prometheus URL --config FILE [--month YYYY-MM] [--format md|json]',
    );
  });

  it('prints the Markdown report of the chosen month', async () => {
    const { code, out } = await run(['--prometheus', prometheus, '--config', config, '--month', '2026-10']);
    expect(code).toBe(0);
    expect(out).toStartWith('<!-- warmsync-roi:2026-10 -->\n## warmsync ROI report, 2026-10\n');
    expect(out).toContain('| **Net monthly value** | **$15,086.28** |');
    expect(out).toContain('| Sync latency p95 | no data (no samples in 2026-10) |');
  });

  it('prints JSON with --format json', async () => {
    const { out } = await run([
      '--prometheus',
      prometheus,
      '--config',
      config,
      '--month',
      '2026-10',
      '--format',
      'json',
    ]);
    expect(JSON.parse(out).results.netMonthlyValue.value).toBeCloseTo(15086.283333, 5);
  });

  it('rejects a missing --prometheus, a bad --format and a bad --month as usage or user errors', async () => {
    expect((await userError(['--config', config])).message).toBe('roi: --prometheus URL is required');
    expect(
      (await userError(['--prometheus', prometheus, '--config', config, '--format', 'pdf'])).message,
    ).toBe("roi: --format must be 'md' or 'json'");
    expect(
      (await userError(['--prometheus', prometheus, '--config', config, '--month', '2026-1'])).message,
    ).toBe("roi: month '2026-1' is not in the form YYYY-MM (for example 2026-10)");
    expect((await userError(['--bogus'])).exitCode).toBe(2);
  });

  it('names the config file that is missing', async () => {
    const error = await userError(['--prometheus', prometheus, '--config', '/nonexistent/roi.json']);
    expect(error.message).toBe('roi: config /nonexistent/roi.json: file not found');
    expect(error.exitCode).toBe(1);
  });
});
