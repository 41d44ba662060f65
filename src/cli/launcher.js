#!/usr/bin/env node
/**
 * The package's `warmsync` command: runs src/cli/main.ts under the Bun binary that the `bun` npm
 * dependency ships, so that `npm install -g warmsync` works on a machine with Node and no Bun.
 *
 * Plain JavaScript on purpose: npm links this file as the command and Node runs it as it is, with
 * no build step. It uses only Node's standard library.
 *
 * Where the binary is, in the order tried:
 * - the platform package (`@oven/bun-linux-x64`...), `bin/bun`: where npm puts it when it skips
 *   the `bun` package's postinstall (npm 11 runs dependency install scripts only when allowed);
 * - `bun/bin/bun.exe`, once that postinstall has moved the binary there (it leaves a 450-byte
 *   shell script in its place otherwise, which is why the file's first bytes are checked);
 * - `bun` on PATH, for an install made without optional dependencies.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
/** Signals a terminal sends to its whole foreground process group (Ctrl-C, Ctrl-\, hang-up). */
const FROM_TERMINAL = new Set(['SIGINT', 'SIGQUIT', 'SIGHUP']);

/** The names of the `@oven/bun-*` packages that can hold this machine's binary. */
function platformPackages() {
  const arch = { x64: 'x64', arm64: 'aarch64' }[process.arch];
  if (!arch) return [];
  switch (process.platform) {
    case 'linux':
      return [`@oven/bun-linux-${arch}`, `@oven/bun-linux-${arch}-musl`];
    case 'android':
      return [`@oven/bun-linux-${arch}-android`];
    case 'darwin':
      return [`@oven/bun-darwin-${arch}`];
    case 'freebsd':
      return [`@oven/bun-freebsd-${arch}`];
    case 'win32':
      return [`@oven/bun-windows-${arch}`];
    default:
      return [];
  }
}

/** Whether PATH starts with an executable's magic number (ELF, Mach-O or PE), not a script. */
function isBinary(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4);
    if (readSync(fd, head, 0, 4, 0) < 4) return false;
    const magic = head.readUInt32BE(0);
    return (
      magic === 0x7f454c46 || // ELF
      magic === 0xcffaedfe || // Mach-O 64-bit, little-endian
      magic === 0xcafebabe || // Mach-O universal
      head.readUInt16BE(0) === 0x4d5a // PE ("MZ")
    );
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isExecutableFile(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The package folder of NAME as seen from FROM, or undefined when it is not installed. */
function packageDir(require, name) {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** The path of the Bun binary to run warmsync with, and the places looked in when there is none. */
function findBun() {
  const tried = [];
  const ownRequire = createRequire(import.meta.url);
  const bunDir = packageDir(ownRequire, 'bun');
  // The platform packages are the `bun` package's dependencies: resolve them from there (npm may
  // nest them under it), and from here as well.
  const requires = bunDir ? [createRequire(join(bunDir, 'package.json')), ownRequire] : [ownRequire];
  const exe = process.platform === 'win32' ? 'bun.exe' : 'bun';
  const found = [];
  for (const name of platformPackages()) {
    for (const require of requires) {
      const dir = packageDir(require, name);
      const candidate = dir && join(dir, 'bin', exe);
      if (!candidate || tried.includes(candidate)) continue;
      tried.push(candidate);
      if (isBinary(candidate)) found.push({ name, candidate });
    }
  }
  // npm installs only the package of this machine's C library; an installer that ignores the
  // `libc` field may have put both, and then the running Node tells which one fits.
  if (found.length > 1 && process.platform === 'linux') {
    const musl = process.report?.getReport?.().header?.glibcVersionRuntime === undefined;
    const fitting = found.find((f) => f.name.endsWith('-musl') === musl);
    if (fitting) return { bun: fitting.candidate, tried };
  }
  if (found[0]) return { bun: found[0].candidate, tried };
  if (bunDir) {
    const candidate = join(bunDir, 'bin', 'bun.exe');
    tried.push(candidate);
    if (isBinary(candidate)) return { bun: candidate, tried };
  }
  // On PATH any executable will do: a version manager's shim is a script.
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, exe))) return { bun: join(dir, exe), tried };
  }
  tried.push('bun on PATH');
  return { bun: undefined, tried };
}

/**
 * Whether this process is in its terminal's foreground process group, so that a Ctrl-C reached the
 * child (in the same group) directly. Linux only (/proc); elsewhere a terminal on stdin stands in.
 */
function inForegroundGroup() {
  try {
    // The second field, the command name, is in parentheses and may hold spaces.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state, ppid, pgrp, session, tty_nr, tpgid.
    return fields[5] !== '-1' && fields[5] === fields[2];
  } catch {
    return process.stdin.isTTY === true;
  }
}

function run() {
  const { bun, tried } = findBun();
  if (!bun) {
    console.error(
      `warmsync: no Bun binary found (looked at ${tried.join(', ')}); reinstall warmsync with its optional dependencies, or put bun on PATH`,
    );
    return process.exit(1);
  }
  const args = [MAIN, ...process.argv.slice(2)];
  // Node 22.15 and later can replace this process with Bun: signals and the exit status are then
  // Bun's own, with nothing in between.
  if (typeof process.execve === 'function') {
    try {
      process.execve(bun, [bun, ...args], process.env);
    } catch {
      // Fall through to running Bun as a child.
    }
  }
  const child = spawn(bun, args, { stdio: 'inherit' });
  const forward = (signal) => {
    // The agent and the hub stop gracefully on the first SIGINT or SIGTERM and die on the second:
    // a signal the terminal sent to the whole group has reached the child already, so it is not
    // sent again. Every other signal (kill PID, a supervisor) is passed on once.
    if (FROM_TERMINAL.has(signal) && inForegroundGroup()) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  child.on('error', (error) => {
    console.error(`warmsync: cannot run ${bun}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, so that the shell sees what happened to the command.
      for (const name of FORWARDED) process.removeListener(name, forward);
      process.kill(process.pid, signal);
      // Reached only if that signal does not end a process by default.
      process.exit(128 + (osConstants.signals[signal] ?? 0));
      return;
    }
    process.exit(code ?? 1);
  });
}

run();
