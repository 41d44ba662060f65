/**
 * scripts/test-setup.sh, the first step of `npm test`, run with a PATH of stubs: every program it
 * looks for is a script that exits 0, except the ones a case leaves out; `id` answers the case's
 * user id and `apt-get` only notes its arguments (or, in one case, "installs" by adding the stub).
 */
import { afterEach, describe, expect, it } from 'bun:test';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repoRoot = join(import.meta.dir, '../..');
const SCRIPT = join(repoRoot, 'scripts', 'test-setup.sh');
const PROGRAMS = [
  'git',
  'curl',
  'prometheus',
  'redis-server',
  'rsync',
  'zstd',
  'openssl',
  'shellcheck',
  'debootstrap',
  'chromium',
  'dockerd',
  'cc',
  'pkg-config',
  'fusermount3',
  'go',
  // The stub answers `python3 -m pip --version` and `python3 -m venv --help` too.
  'python3',
];
/** The one check the stubs cannot answer: PostgreSQL's folder on this machine's disk. */
const hasPostgres =
  existsSync('/usr/lib/postgresql') &&
  readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb')));
const isDebian = existsSync('/etc/debian_version');

const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stub(bin: string, name: string, body = 'exit 0'): void {
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}

interface Case {
  uid: number;
  without: string[];
  /** What the stub apt-get does besides noting its arguments. */
  aptGet?: 'absent' | 'notes' | 'installs rsync' | 'fails';
}

function runSetup({ uid, without, aptGet = 'notes' }: Case) {
  const dir = mkdtempSync(join(tmpdir(), 'warmsync-test-setup-'));
  folders.push(dir);
  const bin = join(dir, 'bin');
  const aptLog = join(dir, 'apt-get.log');
  mkdirSync(bin);
  for (const name of PROGRAMS) if (!without.includes(name)) stub(bin, name);
  // The few real tools the script itself uses.
  for (const name of ['mktemp', 'rm', 'tail']) symlinkSync(Bun.which(name)!, join(bin, name));
  stub(bin, 'id', `echo ${uid}`);
  if (aptGet !== 'absent') {
    const install =
      aptGet === 'installs rsync'
        ? `printf '#!/bin/sh\\nexit 0\\n' >"${bin}/rsync"; /bin/chmod 755 "${bin}/rsync"`
        : '';
    const fail = aptGet === 'fails' ? 'echo "E: Unable to locate package rsync"; exit 100' : '';
    stub(bin, 'apt-get', `echo "$*" >>"${aptLog}"\n${install}\n${fail}`);
  }
  const result = Bun.spawnSync(['/bin/bash', SCRIPT], { env: { PATH: bin, HOME: dir } });
  return {
    exitCode: result.exitCode,
    stdout: result.stdout.toString(),
    stderr: result.stderr.toString(),
    aptCalls: existsSync(aptLog) ? readFileSync(aptLog, 'utf8').trim().split('\n') : [],
  };
}

/** The packages the script should name when the stubs leave out rsync. */
const expected = ['rsync', ...(hasPostgres ? [] : ['postgresql'])].join(' ');

describe('test-setup.sh', () => {
  it('does nothing and says nothing when every program is there', () => {
    if (!hasPostgres) return;
    const result = runSetup({ uid: 1000, without: [] });
    expect(result).toEqual({ exitCode: 0, stdout: '', stderr: '', aptCalls: [] });
  });

  it('stops a user who is not root with one line: what is missing and the command to install it', () => {
    if (!isDebian) return;
    const result = runSetup({ uid: 1000, without: ['rsync'] });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `test-setup: missing ${expected}; run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${expected}\n`,
    );
    expect(result.aptCalls).toEqual([]);
  });

  it('names the FUSE headers when pkg-config cannot find fuse3', () => {
    if (!isDebian) return;
    const result = runSetup({ uid: 1000, without: ['pkg-config'] });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toStartWith('test-setup: missing pkg-config libfuse3-dev');
    expect(result.aptCalls).toEqual([]);
  });

  it('asks for pip and venv with python3 when there is no python3, so one install brings all three', () => {
    if (!isDebian) return;
    const result = runSetup({ uid: 1000, without: ['python3'] });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toStartWith('test-setup: missing python3 python3-pip python3-venv');
    expect(result.aptCalls).toEqual([]);
  });

  it('asks for the packages by name where there is no apt-get', () => {
    const result = runSetup({ uid: 0, without: ['rsync'], aptGet: 'absent' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `test-setup: missing ${expected} (Debian package names); install them with this system's package manager, then run npm test again\n`,
    );
  });

  it('installs what is missing as root on Debian: one update, one non-interactive install', () => {
    if (!isDebian || !hasPostgres) return;
    const result = runSetup({ uid: 0, without: ['rsync'], aptGet: 'installs rsync' });
    expect(result.stderr).toBe('test-setup: installing rsync\n');
    expect(result.exitCode).toBe(0);
    expect(result.aptCalls).toEqual([
      'update -qq',
      'install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 ca-certificates rsync',
    ]);
  });

  it("fails with apt-get's last lines when apt-get fails", () => {
    if (!isDebian || !hasPostgres) return;
    const result = runSetup({ uid: 0, without: ['rsync'], aptGet: 'fails' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      'test-setup: installing rsync\nE: Unable to locate package rsync\ntest-setup: apt-get could not install rsync\n',
    );
    expect(result.aptCalls).toEqual(['update -qq']);
  });

  it('fails when a program is still missing after the install', () => {
    if (!isDebian || !hasPostgres) return;
    const result = runSetup({ uid: 0, without: ['rsync'] });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      'test-setup: installing rsync\ntest-setup: still missing rsync after apt-get install\n',
    );
    expect(result.aptCalls).toHaveLength(2);
  });
});

describe('the repository shell scripts', () => {
  it('pass shellcheck', () => {
    const scripts = [SCRIPT, join(repoRoot, '.ci', 'run')];
    const result = Bun.spawnSync(['shellcheck', ...scripts]);
    if (result.exitCode !== 0) console.error(result.stdout.toString());
    expect(result.exitCode).toBe(0);
  });
});
