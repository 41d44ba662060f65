/**
 * The package as npm delivers it: `npm pack` of this checkout, installed with `npm install -g` into
 * a temporary prefix, then run with a PATH that holds Node and no Bun. The install skips every
 * install script (as npm does for a dependency nobody allowed), so the launcher must find Bun in
 * the platform package; one test then runs the `bun` package's postinstall and checks the launcher
 * follows the binary to where that script moves it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const MINUTE = 60_000;
const repoRoot = join(import.meta.dir, '../..');
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

interface Result {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without what `npm test` adds (npm_config_*...), so npm sees only its own config. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.toLowerCase().startsWith('npm_')) env[key] = value;
  }
  return { ...env, ...extra };
}

async function run(
  command: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Result> {
  const child = Bun.spawn(command, {
    cwd: options.cwd,
    env: options.env ?? cleanEnv(),
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: options.timeoutMs ?? MINUTE,
  });
  const [stdout, stderr] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  await child.exited;
  return { exitCode: child.exitCode, stdout, stderr };
}

/** Gathers a running process's output; `waitFor` resolves once TEXT has appeared in it. */
function collect(...streams: ReadableStream<Uint8Array>[]) {
  let text = '';
  const pumped = Promise.all(
    streams.map(async (stream) => {
      const decoder = new TextDecoder();
      for await (const part of stream) text += decoder.decode(part, { stream: true });
    }),
  );
  return {
    async waitFor(wanted: string, timeoutMs = MINUTE): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!text.includes(wanted)) {
        if (Date.now() > deadline) throw new Error(`no '${wanted}' in the output:\n${text}`);
        await Bun.sleep(50);
      }
    },
    async done(): Promise<string> {
      await pumped;
      return text;
    },
  };
}

const nodePath = Bun.which('node');
/** Node's folder and the system's: no Bun anywhere on it (checked in beforeAll). */
const bareDirs = [...new Set([nodePath ? dirname(nodePath) : '/usr/bin', '/usr/bin', '/bin'])];
const barePath = bareDirs.join(':');
const bareEnv = (extra: Record<string, string> = {}) => ({
  PATH: barePath,
  HOME: process.env.HOME ?? tmpdir(),
  ...extra,
});

let root = '';
let prefix = '';
let command = '';
let installMs = 0;

beforeAll(async () => {
  for (const dir of bareDirs) {
    if (existsSync(join(dir, 'bun')))
      throw new Error(`${dir} holds a bun: the test needs a PATH without one`);
  }
  root = mkdtempSync(join(tmpdir(), 'warmsync-npm-install-'));
  const packed = await run(['npm', 'pack', '--silent', '--pack-destination', root], {
    cwd: repoRoot,
    timeoutMs: 2 * MINUTE,
  });
  const tarball = packed.stdout.trim().split('\n').pop();
  if (packed.exitCode !== 0 || !tarball) throw new Error(`npm pack failed:\n${packed.stderr}`);
  prefix = join(root, 'prefix');
  const started = performance.now();
  // --prefer-offline: the packages come from npm's cache where `npm ci` of this checkout put them.
  const installed = await run(
    [
      'npm',
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      join(root, tarball),
    ],
    { timeoutMs: 5 * MINUTE },
  );
  installMs = performance.now() - started;
  if (installed.exitCode !== 0) throw new Error(`npm install -g failed:\n${installed.stderr}`);
  console.log(`[delivery] npm install -g of the packed checkout took ${(installMs / 1000).toFixed(1)} s`);
  command = join(prefix, 'bin', 'warmsync');
}, 6 * MINUTE);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('npm install -g from the packed tarball', () => {
  it('installs a warmsync command that prints its help with no Bun on PATH', async () => {
    const result = await run([command, '--help'], { env: bareEnv(), cwd: root });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Usage: warmsync <command>');
  });

  it(
    'runs the demo to two identical folders with no Bun on PATH',
    async () => {
      const result = await run([command, 'demo'], { env: bareEnv(), cwd: root, timeoutMs: 2 * MINUTE });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('both folders are identical');
    },
    3 * MINUTE,
  );

  it("passes on the command's exit code", async () => {
    const result = await run([command, 'no-such-command'], { env: bareEnv(), cwd: root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(
      "warmsync: unknown command 'no-such-command'; run 'warmsync --help' for the list",
    );
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`passes ${signal} sent to it on to the hub, which stops gracefully`, async () => {
      const hub = Bun.spawn([command, 'serve', '--no-auth', '--port', '0', '--data', join(root, signal)], {
        env: bareEnv(),
        stdout: 'pipe',
        stderr: 'pipe',
      });
      const output = collect(hub.stdout, hub.stderr);
      await output.waitFor('listening on');
      hub.kill(signal);
      expect(await hub.exited).toBe(0);
      expect(await output.done()).toContain('[serve] stopping');
    });
  }

  it('lets a Ctrl-C in a terminal reach the hub once, so it stops gracefully', async () => {
    // `script` gives the command a terminal; the byte 0x03 typed into it makes the terminal send
    // SIGINT to its whole foreground group, the launcher and Bun alike. A second SIGINT would kill
    // the hub mid-stop (exit 130).
    if (!Bun.which('script')) return;
    const data = join(root, 'hub-tty');
    const hub = Bun.spawn(
      ['script', '-qfec', `exec ${command} serve --no-auth --port 0 --data ${data}`, '/dev/null'],
      { env: bareEnv(), stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' },
    );
    const output = collect(hub.stdout);
    await output.waitFor('listening on');
    hub.stdin.write('\x03');
    hub.stdin.flush();
    expect(await hub.exited).toBe(0);
    expect(await output.done()).toContain('[serve] stopping');
  });

  it("finds Bun where the bun package's postinstall moves it", async () => {
    const bunPackage = join(prefix, 'lib', 'node_modules', 'warmsync', 'node_modules', 'bun');
    const postinstall = await run(['node', 'install.js'], { cwd: bunPackage, env: bareEnv() });
    expect(postinstall.exitCode).toBe(0);
    // The script moves the binary out of the platform package, so only bun.exe is left to find.
    const oven = join(bunPackage, '..', '@oven');
    for (const name of readdirSync(oven)) expect(existsSync(join(oven, name, 'bin', 'bun'))).toBe(false);
    const result = await run([command, '--version'], { env: bareEnv(), cwd: root });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
});

describe('the launcher without a Bun', () => {
  it('says in one line where it looked, and exits 1', async () => {
    const alone = mkdtempSync(join(tmpdir(), 'warmsync-launcher-'));
    try {
      mkdirSync(join(alone, 'src', 'cli'), { recursive: true });
      cpSync(join(repoRoot, 'src', 'cli', 'launcher.js'), join(alone, 'src', 'cli', 'launcher.js'));
      cpSync(join(repoRoot, 'package.json'), join(alone, 'package.json'));
      const result = await run(['node', join(alone, 'src', 'cli', 'launcher.js'), '--help'], {
        env: bareEnv(),
      });
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith('warmsync: no Bun binary found (looked at ');
      expect(lines[0]).toContain('bun on PATH');
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
  });
});
