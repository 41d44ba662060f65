#!/bin/sh
# Installs Bun and warmsync into the image and records the feature's options for the start script.
#
# Runs as root at image build time (Dev Container Features spec). Options arrive as upper-cased
# environment variables: SERVERURL, WORKSPACE, FOLDER, VERSION, PREWARM, ALLOWSCRIPTS, POLL, BUNVERSION,
# TOKENFILE, REGISTRY.
# Everything is fetched from an npm registry with curl, because a base image has no Node:
#   - REGISTRY, else NPM_CONFIG_REGISTRY, else the public npm registry (so a company mirror works);
#   - Bun's binary from the @oven/bun-linux-* package that fits the CPU and libc, pinned and verified;
#   - warmsync from the registry (VERSION is a version or tag) or from a package tarball given as a
#     path or URL (VERSION=/path/to/warmsync-0.1.0.tgz), which is how a checkout is tested.
# Running it again replaces the installation in place. The auth token is never written to the image:
# the start script reads it at run time from WARMSYNC_TOKEN or from a mounted secret file.
#
# POSIX sh on purpose: Alpine images have no bash.
set -eu

PREFIX=/usr/local/share/warmsync
CONFIG_DIR=/etc/warmsync
CONFIG_FILE="$CONFIG_DIR/feature.conf"
LOG_DIR=/var/log/warmsync
STATE_DIR=/var/lib/warmsync
BIN_LINK=/usr/local/bin/warmsync
DEFAULT_BUN_VERSION=1.4.5
DEFAULT_REGISTRY=https://registry.npmjs.org
SYSTEM_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# Where the CPU's flags are read; replaceable so that the choice of Bun build can be tested.
CPUINFO=${WARMSYNC_FEATURE_CPUINFO:-/proc/cpuinfo}

SERVER_URL=${SERVERURL:-}
WORKSPACE_NAME=${WORKSPACE:-}
SYNC_FOLDER=${FOLDER:-}
WARMSYNC_VERSION=${VERSION:-latest}
PREWARM_ENABLED=${PREWARM:-true}
ALLOW_SCRIPTS_ENABLED=${ALLOWSCRIPTS:-false}
POLL_ENABLED=${POLL:-false}
BUN_VERSION=${BUNVERSION:-$DEFAULT_BUN_VERSION}
TOKEN_FILE=${TOKENFILE:-/run/secrets/warmsync-token}
REGISTRY_URL=${REGISTRY:-${NPM_CONFIG_REGISTRY:-${npm_config_registry:-$DEFAULT_REGISTRY}}}
REGISTRY_URL=${REGISTRY_URL%/}

FEATURE_DIR=$(cd "$(dirname "$0")" && pwd)
WORK_DIR=

log() { printf 'warmsync-agent feature: %s\n' "$*"; }
fail() {
  printf 'warmsync-agent feature: error: %s\n' "$*" >&2
  exit 1
}
cleanup() { if [ -n "$WORK_DIR" ]; then rm -rf "$WORK_DIR"; fi; }
trap cleanup EXIT

# Prints the value single-quoted so that `.` reads it back verbatim, whatever it contains.
shell_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

check_options() {
  [ "$(id -u)" -eq 0 ] || fail "install.sh must run as root (it runs as root during a dev container build)."
  [ -n "$SERVER_URL" ] || fail "the 'serverUrl' option is required, e.g. \"serverUrl\": \"https://warmsync.example.com\"."
  case "$SERVER_URL" in
    http://* | https://*) ;;
    *) fail "the 'serverUrl' option must start with http:// or https://, got '$SERVER_URL'." ;;
  esac
  case "$PREWARM_ENABLED" in
    true | false) ;;
    *) fail "the 'prewarm' option must be true or false, got '$PREWARM_ENABLED'." ;;
  esac
  case "$ALLOW_SCRIPTS_ENABLED" in
    true | false) ;;
    *) fail "the 'allowScripts' option must be true or false, got '$ALLOW_SCRIPTS_ENABLED'." ;;
  esac
  case "$POLL_ENABLED" in
    true | false) ;;
    *) fail "the 'poll' option must be true or false, got '$POLL_ENABLED'." ;;
  esac
  case "$SYNC_FOLDER" in
    '' | /*) ;;
    *) fail "the 'folder' option must be an absolute path or empty, got '$SYNC_FOLDER'." ;;
  esac
  if [ -n "${WARMSYNC_TOKEN:-}" ]; then
    log "WARMSYNC_TOKEN is set at build time; it is not stored in the image. Provide it at run time."
  fi
}

# Sets PKG_MANAGER to apt or apk, or stops on a base this feature does not support.
detect_base() {
  os_id=
  os_like=
  os_name=unknown
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    os_id=$(. /etc/os-release && printf '%s' "${ID:-}")
    # shellcheck disable=SC1091
    os_like=$(. /etc/os-release && printf '%s' "${ID_LIKE:-}")
    # shellcheck disable=SC1091
    os_name=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-$os_id}")
  fi
  case " $os_id $os_like " in
    *" debian "* | *" ubuntu "*) PKG_MANAGER=apt ;;
    *" alpine "*) PKG_MANAGER=apk ;;
    *) fail "unsupported base image '$os_name': this feature supports Debian, Ubuntu and Alpine." ;;
  esac
  if [ "$PKG_MANAGER" = apt ] && ! command -v apt-get >/dev/null 2>&1; then
    fail "base image '$os_name' has no apt-get."
  fi
}

missing_commands() {
  for command_name in "$@"; do
    command -v "$command_name" >/dev/null 2>&1 || printf '%s ' "$command_name"
  done
}

install_prerequisites() {
  missing=$(missing_commands curl tar gzip sed od base64 sha512sum setsid nohup)
  if [ "$PKG_MANAGER" = apt ]; then
    [ -f /etc/ssl/certs/ca-certificates.crt ] || missing="$missing ca-certificates"
    [ -z "$missing" ] && return 0
    log "installing prerequisites ($missing)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -y >/dev/null
    apt-get install -y --no-install-recommends ca-certificates curl tar gzip sed coreutils util-linux >/dev/null
    rm -rf /var/lib/apt/lists/*
  else
    # Bun's musl build links libstdc++ and libgcc dynamically.
    [ -f /usr/lib/libstdc++.so.6 ] || missing="$missing libstdc++"
    [ -z "$missing" ] && return 0
    log "installing prerequisites ($missing)"
    apk add --no-cache ca-certificates curl tar gzip coreutils util-linux libstdc++ libgcc >/dev/null
  fi
}

# Prints the @oven package that holds Bun's binary for this machine.
bun_package_name() {
  libc_suffix=
  if [ "$PKG_MANAGER" = apk ] || (ldd --version 2>&1 | grep -qi musl); then libc_suffix=-musl; fi
  case "$(uname -m)" in
    x86_64 | amd64)
      # Bun's default x64 build needs AVX2; older CPUs and some emulators need the baseline build.
      if grep -qw avx2 "$CPUINFO" 2>/dev/null; then
        printf '@oven/bun-linux-x64%s' "$libc_suffix"
      else
        printf '@oven/bun-linux-x64%s-baseline' "$libc_suffix"
      fi
      ;;
    aarch64 | arm64) printf '@oven/bun-linux-aarch64%s' "$libc_suffix" ;;
    *) fail "unsupported CPU architecture '$(uname -m)': Bun is published for x86_64 and aarch64." ;;
  esac
}

# Looks up NAME@VERSION (a version or a dist-tag) and sets TARBALL_URL and TARBALL_INTEGRITY.
resolve_package() {
  name=$1
  version=$2
  escaped=$(printf '%s' "$name" | sed 's|/|%2f|')
  manifest=$(curl -fsSL --retry 3 --connect-timeout 20 "$REGISTRY_URL/$escaped/$version") ||
    fail "could not find $name@$version in the registry $REGISTRY_URL."
  TARBALL_URL=$(printf '%s' "$manifest" | sed -n 's/.*"tarball" *: *"\([^"]*\)".*/\1/p')
  TARBALL_INTEGRITY=$(printf '%s' "$manifest" | sed -n 's/.*"integrity" *: *"\(sha512-[^"]*\)".*/\1/p')
  [ -n "$TARBALL_URL" ] || fail "the registry's answer for $name@$version has no tarball URL."
}

# Downloads URL to FILE and, when INTEGRITY (an npm sha512 SRI string) is given, checks it.
download() {
  url=$1
  file=$2
  integrity=${3:-}
  curl -fsSL --retry 3 --connect-timeout 20 -o "$file" "$url" || fail "could not download $url."
  [ -n "$integrity" ] || return 0
  expected=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  actual=$(sha512sum "$file" | cut -d' ' -f1)
  [ "$expected" = "$actual" ] || fail "$url does not match its registry checksum."
}

install_bun() {
  bun_bin="$PREFIX/bun/bin/bun"
  if [ -x "$bun_bin" ] && [ "$("$bun_bin" --version 2>/dev/null)" = "$BUN_VERSION" ]; then
    log "Bun $BUN_VERSION already installed"
    return 0
  fi
  package=$(bun_package_name)
  log "installing Bun $BUN_VERSION from $package"
  resolve_package "$package" "$BUN_VERSION"
  download "$TARBALL_URL" "$WORK_DIR/bun.tgz" "$TARBALL_INTEGRITY"
  mkdir -p "$WORK_DIR/bun"
  tar -xzf "$WORK_DIR/bun.tgz" -C "$WORK_DIR/bun"
  [ -f "$WORK_DIR/bun/package/bin/bun" ] || fail "$package has no bin/bun."
  mkdir -p "$PREFIX/bun/bin"
  install -m 0755 "$WORK_DIR/bun/package/bin/bun" "$bun_bin.new"
  mv -f "$bun_bin.new" "$bun_bin"
  "$bun_bin" --version >/dev/null || fail "the installed Bun does not run on this image."
}

# Puts the warmsync package tarball named by VERSION at $WORK_DIR/warmsync.tgz.
fetch_warmsync() {
  target="$WORK_DIR/warmsync.tgz"
  case "$WARMSYNC_VERSION" in
    http://* | https://*)
      log "downloading warmsync from $WARMSYNC_VERSION"
      download "$WARMSYNC_VERSION" "$target"
      ;;
    file://*) cp "${WARMSYNC_VERSION#file://}" "$target" || fail "cannot read $WARMSYNC_VERSION." ;;
    /* | ./* | ../* | *.tgz | *.tar.gz)
      [ -f "$WARMSYNC_VERSION" ] || fail "the 'version' option names a tarball that does not exist: $WARMSYNC_VERSION."
      log "installing warmsync from $WARMSYNC_VERSION"
      cp "$WARMSYNC_VERSION" "$target"
      ;;
    *)
      log "installing warmsync@$WARMSYNC_VERSION from $REGISTRY_URL"
      resolve_package warmsync "$WARMSYNC_VERSION"
      download "$TARBALL_URL" "$target" "$TARBALL_INTEGRITY"
      ;;
  esac
}

install_warmsync() {
  fetch_warmsync
  staging="$PREFIX/package.new"
  rm -rf "$staging"
  mkdir -p "$WORK_DIR/warmsync"
  tar -xzf "$WORK_DIR/warmsync.tgz" -C "$WORK_DIR/warmsync"
  [ -f "$WORK_DIR/warmsync/package/package.json" ] || fail "the warmsync tarball has no package/package.json."
  mv "$WORK_DIR/warmsync/package" "$staging"
  # The package lists the `bun` npm package so that `npx warmsync` works on a bare Node machine; here
  # the feature provides Bun itself, so that dependency (and its 90 MB of binaries) is dropped.
  "$PREFIX/bun/bin/bun" -e '
    const path = process.argv[1];
    const pkg = JSON.parse(require("node:fs").readFileSync(path, "utf8"));
    if (pkg.dependencies) delete pkg.dependencies.bun;
    delete pkg.devDependencies;
    require("node:fs").writeFileSync(path, JSON.stringify(pkg, null, 2));
  ' "$staging/package.json"
  log "installing warmsync's dependencies from $REGISTRY_URL"
  # Bun ships its own root certificates; make it trust the image's too (a mirror behind a company CA).
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$SYSTEM_CA_BUNDLE" ]; then
    NODE_EXTRA_CA_CERTS=$SYSTEM_CA_BUNDLE
    export NODE_EXTRA_CA_CERTS
  fi
  (
    cd "$staging"
    BUN_INSTALL_CACHE_DIR="$WORK_DIR/bun-cache" "$PREFIX/bun/bin/bun" install \
      --production --ignore-scripts --no-save --no-progress --registry "$REGISTRY_URL/" >/dev/null
  ) || fail "could not install warmsync's dependencies from $REGISTRY_URL."
  rm -rf "$PREFIX/package.old"
  if [ -d "$PREFIX/package" ]; then mv "$PREFIX/package" "$PREFIX/package.old"; fi
  mv "$staging" "$PREFIX/package"
  rm -rf "$PREFIX/package.old"

  cat >"$BIN_LINK.new" <<EOF
#!/bin/sh
# warmsync, installed by the warmsync-agent dev container feature.
# Bun ships its own root certificates; trust the image's as well (a server behind a company CA).
if [ -z "\${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$SYSTEM_CA_BUNDLE" ]; then
  NODE_EXTRA_CA_CERTS="$SYSTEM_CA_BUNDLE"
  export NODE_EXTRA_CA_CERTS
fi
exec "$PREFIX/bun/bin/bun" "$PREFIX/package/src/cli/main.ts" "\$@"
EOF
  chmod 0755 "$BIN_LINK.new"
  mv -f "$BIN_LINK.new" "$BIN_LINK"
  # The package's own shebang is `#!/usr/bin/env bun`; offer Bun on PATH unless the image has one.
  if ! command -v bun >/dev/null 2>&1; then ln -sf "$PREFIX/bun/bin/bun" /usr/local/bin/bun; fi
  "$BIN_LINK" --help >/dev/null 2>&1 || fail "the installed warmsync does not start ('warmsync --help' failed)."
}

# The start script runs as the remote user, whose UID a dev container tool may change when the
# container is created (to match the host user's, re-owning only the home folder): folders owned by
# the build-time UID would then be read-only to it. So, like /tmp, they are writable by every user
# and sticky, so that nobody removes another's files; the start script keeps each user's pidfile and
# agent state in a folder of its own, and falls back to the user's home where even that fails.
prepare_directories() {
  mkdir -p "$CONFIG_DIR" "$LOG_DIR" "$STATE_DIR"
  chown root:root "$LOG_DIR" "$STATE_DIR"
  chmod 1777 "$LOG_DIR" "$STATE_DIR"
  if ! id -u "${_REMOTE_USER:-root}" >/dev/null 2>&1; then
    log "remote user '${_REMOTE_USER:-}' does not exist yet; the agent will run as whoever starts it"
  fi
}

write_config() {
  {
    printf '# Written by the warmsync-agent feature at image build time. No secrets here.\n'
    printf 'SERVER_URL=%s\n' "$(shell_quote "$SERVER_URL")"
    printf 'WORKSPACE_NAME=%s\n' "$(shell_quote "$WORKSPACE_NAME")"
    printf 'SYNC_FOLDER=%s\n' "$(shell_quote "$SYNC_FOLDER")"
    printf 'PREWARM_ENABLED=%s\n' "$(shell_quote "$PREWARM_ENABLED")"
    printf 'ALLOW_SCRIPTS_ENABLED=%s\n' "$(shell_quote "$ALLOW_SCRIPTS_ENABLED")"
    printf 'POLL_ENABLED=%s\n' "$(shell_quote "$POLL_ENABLED")"
    printf 'TOKEN_FILE=%s\n' "$(shell_quote "$TOKEN_FILE")"
    printf 'LOG_DIR=%s\n' "$(shell_quote "$LOG_DIR")"
    printf 'STATE_DIR=%s\n' "$(shell_quote "$STATE_DIR")"
    printf 'WARMSYNC_BIN=%s\n' "$(shell_quote "$BIN_LINK")"
  } >"$CONFIG_FILE.new"
  chmod 0644 "$CONFIG_FILE.new"
  mv -f "$CONFIG_FILE.new" "$CONFIG_FILE"
  install -m 0755 "$FEATURE_DIR/start-agent.sh" "$PREFIX/start-agent.sh.new"
  mv -f "$PREFIX/start-agent.sh.new" "$PREFIX/start-agent.sh"
}

main() {
  check_options
  detect_base
  install_prerequisites
  WORK_DIR=$(mktemp -d)
  mkdir -p "$PREFIX"
  install_bun
  install_warmsync
  prepare_directories
  write_config
  installed_version=$(sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p' "$PREFIX/package/package.json" | head -n 1)
  log "installed warmsync $installed_version with Bun $BUN_VERSION"
}

main "$@"
