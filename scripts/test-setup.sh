#!/usr/bin/env bash
# The first step of `npm test`: checks that the programs the suite runs are on this machine (real
# Prometheus, Redis and PostgreSQL servers, rsync and zstd for the benchmarks' baselines, a C
# compiler and FUSE for the case-insensitive test file system, debootstrap and Docker for the dev
# container tests, a headless Chromium for the dashboard's browser tests, pip, venv and the Go
# toolchain for the pre-warming tests...). When some are missing it installs them if it may (root
# on Debian or Ubuntu: one `apt-get update`, then one non-interactive `apt-get install`), and
# otherwise stops at once with one line naming them and the command that installs them. It changes
# nothing when all are there, so running it again costs a few milliseconds.
set -euo pipefail

# Debian package names of the missing programs, in the order checked.
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }

check() {
  missing=()
  need git git
  need curl curl
  need prometheus prometheus
  need redis-server redis-server
  need rsync rsync
  need zstd zstd
  need openssl openssl
  need shellcheck shellcheck
  need debootstrap debootstrap
  need chromium chromium
  need dockerd docker.io
  need cc gcc
  need pkg-config pkg-config
  need fusermount3 fuse3
  need go golang-go
  need python3 python3
  # Debian ships pip and venv apart from the interpreter.
  # Without python3 both are missing too: asked for now, so one install brings all three.
  if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3-pip python3-venv)
  else
    python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
    python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
  fi
  # The FUSE headers and library the test file system is compiled against.
  if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists fuse3; then missing+=(libfuse3-dev); fi
  # Debian keeps initdb and postgres off PATH, one folder per major version.
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
}

check
[ "${#missing[@]}" -eq 0 ] && exit 0

packages="${missing[*]}"
if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-setup: missing ${packages} (Debian package names); install them with this system's package manager, then run npm test again" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "test-setup: missing ${packages}; run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages}" >&2
  exit 1
fi

echo "test-setup: installing ${packages}" >&2
export DEBIAN_FRONTEND=noninteractive
# The packages' own scripts talk a lot (locales, clusters, services); their output is shown only
# when the install fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 \
  ca-certificates "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "test-setup: apt-get could not install ${packages}" >&2
  exit 1
fi

check
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-setup: still missing ${missing[*]} after apt-get install" >&2
  exit 1
fi
