#!/bin/sh
# Starts, stops and supervises the warmsync agent of a dev container.
#
# Usage: start-agent.sh [start [FOLDER] | stop | restart [FOLDER] | status]
#        (`supervise FOLDER` is how the script runs itself in the background)
#
# `start` is the feature's postStartCommand. It returns at once: a lifecycle hook that leaves a
# process attached either hangs the container's start or has its process killed with the hook, so the
# agent runs under a detached supervisor (setsid + nohup, stdin from /dev/null, output to the log).
# `start` is idempotent: when a live supervisor holds the pidfile, it does nothing.
#
# The supervisor restarts the agent with exponential backoff (1 s doubling to 60 s, reset after a run
# of a minute) and, when the `prewarm` option is on and the folder's npm dependencies are not
# installed, first runs `warmsync prewarm DIR --restore` (or `--warm` on an older warmsync) under a
# time limit: it restores node_modules from the hub's snapshot, or fetches the declared and
# imported packages into warmsync's shared npm cache, so that the first `npm install` is served from
# it. Neither step can delay the container's start. Neither runs npm install scripts unless the
# `allowScripts` option is on (`--allow-scripts`): package.json and the lockfile come from the synced
# folder, which peers write.
#
# Configuration: /etc/warmsync/feature.conf (written by install.sh from the feature's options), with
# these run-time overrides: WARMSYNC_SERVER, WARMSYNC_WORKSPACE, WARMSYNC_FOLDER, WARMSYNC_LOG. The
# token comes from WARMSYNC_TOKEN, else from the file WARMSYNC_TOKEN_FILE (default: the `tokenFile`
# option, /run/secrets/warmsync-token); it reaches the agent through its environment, never its
# command line.
#
# The folder to sync is FOLDER, else WARMSYNC_FOLDER, else the `folder` option, else the current
# directory: dev container tools run lifecycle commands in the container's workspace folder.
set -u

CONFIG_FILE=${WARMSYNC_FEATURE_CONFIG:-/etc/warmsync/feature.conf}
# The supervisor is this script again, found by absolute path whatever the caller's PATH and folder.
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
MAX_BACKOFF_SECONDS=60
HEALTHY_RUN_SECONDS=60
PREWARM_TIMEOUT_SECONDS=${WARMSYNC_PREWARM_TIMEOUT:-300}
MAX_LOG_BYTES=10485760

say() { printf 'warmsync-agent: %s\n' "$*"; }
stamp() { printf '%s warmsync-agent: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
fail() {
  printf 'warmsync-agent: error: %s\n' "$*" >&2
  exit 1
}

[ -r "$CONFIG_FILE" ] || fail "$CONFIG_FILE is missing; is the warmsync-agent feature installed?"
SERVER_URL=
WORKSPACE_NAME=
SYNC_FOLDER=
PREWARM_ENABLED=true
ALLOW_SCRIPTS_ENABLED=false
POLL_ENABLED=false
TOKEN_FILE=/run/secrets/warmsync-token
LOG_DIR=/var/log/warmsync
STATE_DIR=/var/lib/warmsync
WARMSYNC_BIN=/usr/local/bin/warmsync
# shellcheck source=/dev/null
. "$CONFIG_FILE"

SERVER_URL=${WARMSYNC_SERVER:-$SERVER_URL}
TOKEN_FILE=${WARMSYNC_TOKEN_FILE:-$TOKEN_FILE}

# The image's folders are writable by every user and sticky (see install.sh): each user keeps its
# pidfile and agent state in a folder of its own there, so that what another user (say root, once)
# left behind never blocks it. Where that fails, everything moves to the user's home.
writable_dir() {
  mkdir -p "$1" 2>/dev/null && [ -w "$1" ]
}
writable_file() {
  if [ -e "$1" ]; then [ -w "$1" ]; else writable_dir "$(dirname "$1")"; fi
}
USER_NAME=$(id -un 2>/dev/null || id -u)
HOME_STATE=${XDG_STATE_HOME:-${HOME:-/tmp}/.local/state}/warmsync
STATE_DIR=$STATE_DIR/$USER_NAME
if ! writable_dir "$STATE_DIR"; then STATE_DIR=$HOME_STATE; fi
writable_dir "$STATE_DIR" || fail "cannot create a state folder ($STATE_DIR)."
if [ -n "${WARMSYNC_LOG:-}" ] && writable_file "$WARMSYNC_LOG"; then
  LOG_FILE=$WARMSYNC_LOG
elif writable_file "$LOG_DIR/agent.log"; then
  LOG_FILE=$LOG_DIR/agent.log
else
  LOG_FILE=$STATE_DIR/agent.log
fi
PID_FILE=$STATE_DIR/supervisor.pid

# True when PID is a live supervisor started by this script (not a recycled pid).
is_supervisor() {
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 1
  case "$(tr '\000' ' ' <"/proc/$1/cmdline" 2>/dev/null)" in
    *start-agent.sh\ supervise*) return 0 ;;
    *) return 1 ;;
  esac
}

running_pid() {
  pid=$(cat "$PID_FILE" 2>/dev/null || true)
  if is_supervisor "$pid"; then printf '%s' "$pid"; fi
}

resolve_folder() {
  folder=${1:-${WARMSYNC_FOLDER:-$SYNC_FOLDER}}
  if [ -z "$folder" ]; then
    folder=$(pwd)
    [ "$folder" != / ] || fail "no folder to sync: run from the workspace folder, pass FOLDER, or set the 'folder' option."
  fi
  [ -d "$folder" ] || fail "the folder to sync does not exist: $folder."
  (cd "$folder" && pwd)
}

rotate_log() {
  [ -f "$LOG_FILE" ] || return 0
  size=$(wc -c <"$LOG_FILE")
  if [ "$size" -gt "$MAX_LOG_BYTES" ]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
}

start() {
  pid=$(running_pid)
  if [ -n "$pid" ]; then
    say "already running (pid $pid); log: $LOG_FILE"
    return 0
  fi
  [ -n "$SERVER_URL" ] || fail "no server URL: set the 'serverUrl' option or WARMSYNC_SERVER."
  folder=$(resolve_folder "${1:-}") || exit 1
  rotate_log
  stamp "starting the supervisor for $folder" >>"$LOG_FILE"
  detach=
  if command -v setsid >/dev/null 2>&1; then detach=setsid; fi
  # Detached from the hook: own session, no terminal, stdin from /dev/null, output to the log.
  $detach nohup /bin/sh "$SELF" supervise "$folder" </dev/null >>"$LOG_FILE" 2>&1 &
  # The supervisor writes its own pid (setsid may fork); wait briefly so that `status` is accurate.
  tries=0
  while [ "$tries" -lt 20 ] && [ -z "$(running_pid)" ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  say "started for $folder; log: $LOG_FILE"
}

stop() {
  pid=$(running_pid)
  if [ -z "$pid" ]; then
    say "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  # The supervisor leads its own process group (setsid): signal the group, so that a running agent or
  # dependency restore stops with it.
  group=$(cut -d' ' -f5 "/proc/$pid/stat" 2>/dev/null || true)
  if [ "$group" = "$pid" ]; then
    kill -TERM "-$pid" 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  tries=0
  while [ "$tries" -lt 50 ] && is_supervisor "$pid"; do
    sleep 0.1
    tries=$((tries + 1))
  done
  if is_supervisor "$pid"; then
    if [ "$group" = "$pid" ]; then kill -KILL "-$pid" 2>/dev/null; else kill -KILL "$pid" 2>/dev/null; fi
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

status() {
  pid=$(running_pid)
  if [ -n "$pid" ]; then
    say "running (pid $pid); log: $LOG_FILE"
  else
    say "not running; log: $LOG_FILE"
    return 3
  fi
}

# Claims the pidfile atomically (noclobber), replacing it only when its owner is gone. After a
# container restart the stale file may hold this very pid (containers number processes alike).
claim_pidfile() {
  if (set -C && printf '%s\n' "$$" >"$PID_FILE") 2>/dev/null; then return 0; fi
  owner=$(running_pid)
  [ -z "$owner" ] || [ "$owner" = "$$" ] || return 1
  rm -f "$PID_FILE"
  (set -C && printf '%s\n' "$$" >"$PID_FILE") 2>/dev/null
}

# The environment's token wins; a secret file is read again before each restart, so rotating it works.
ENVIRONMENT_TOKEN=${WARMSYNC_TOKEN:-}
load_token() {
  WARMSYNC_TOKEN=$ENVIRONMENT_TOKEN
  if [ -z "$WARMSYNC_TOKEN" ] && [ -r "$TOKEN_FILE" ]; then
    WARMSYNC_TOKEN=$(tr -d '\r\n' <"$TOKEN_FILE")
  fi
  if [ -n "$WARMSYNC_TOKEN" ]; then export WARMSYNC_TOKEN; else unset WARMSYNC_TOKEN; fi
}

# True when the folder declares npm dependencies that are not installed (a fresh clone or volume).
dependencies_missing() {
  [ -f "$1/package.json" ] && [ ! -d "$1/node_modules" ]
}

# Best effort: a warmsync without `prewarm --restore` or `--warm`, a slow or unreachable hub or
# registry, or a failed restore is logged and the agent starts anyway.
# Preferred: restore node_modules from the hub's snapshot of the lockfile (warmsync falls back to
# `npm ci` itself when the hub has none). Older warmsync: fill the shared npm cache instead.
restore_dependencies() {
  folder=$1
  [ "$PREWARM_ENABLED" = true ] || return 0
  dependencies_missing "$folder" || return 0
  help=$("$WARMSYNC_BIN" prewarm --help 2>/dev/null || true)
  if printf '%s' "$help" | grep -q -- '--restore'; then
    set -- "$folder" --restore
    if [ "$ALLOW_SCRIPTS_ENABLED" = true ]; then set -- "$@" --allow-scripts; fi
  elif printf '%s' "$help" | grep -q -- '--warm'; then
    if ! command -v npm >/dev/null 2>&1; then
      stamp "npm is not installed; skipping the dependency restore"
      return 0
    fi
    # History mining (--from-history) predicts edits; only the packages matter here.
    set -- "$folder" --warm --from-history 0
  else
    stamp "this warmsync has no 'prewarm --restore' or 'prewarm --warm' command; skipping the dependency restore"
    return 0
  fi
  limit=
  if command -v timeout >/dev/null 2>&1; then limit="timeout $PREWARM_TIMEOUT_SECONDS"; fi
  stamp "restoring dependencies of $folder ($2)"
  if $limit "$WARMSYNC_BIN" prewarm "$@"; then
    stamp "dependency restore finished"
  else
    stamp "dependency restore failed or timed out (status $?); continuing"
  fi
}

# The folder's name as a workspace name: 1-64 of A-Z a-z 0-9 . _ -, starting alphanumeric.
workspace_name_from() {
  basename "$1" | tr -c 'A-Za-z0-9._\n-' '-' | sed 's/^[^A-Za-z0-9]*//' | cut -c 1-64
}

supervise() {
  folder=$1
  claim_pidfile || exit 0
  child=
  trap 'stamp "stopping"; if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; rm -f "$PID_FILE"; exit 0' TERM INT HUP
  WORKSPACE_NAME=${WARMSYNC_WORKSPACE:-$WORKSPACE_NAME}
  if [ -z "$WORKSPACE_NAME" ]; then WORKSPACE_NAME=$(workspace_name_from "$folder"); fi
  if [ -z "$WORKSPACE_NAME" ]; then WORKSPACE_NAME=workspace; fi
  load_token
  # The agent reads WARMSYNC_SERVER and WARMSYNC_WORKSPACE too; flags win, these are for its children.
  export WARMSYNC_SERVER="$SERVER_URL" WARMSYNC_WORKSPACE="$WORKSPACE_NAME"
  agent_flags=
  if [ "$PREWARM_ENABLED" != true ]; then agent_flags=" --no-prewarm"; fi
  # Filesystem events miss changes made through some bind mounts (Docker Desktop): poll there.
  if [ "$POLL_ENABLED" = true ]; then agent_flags="$agent_flags --poll"; fi
  if [ "$ALLOW_SCRIPTS_ENABLED" = true ]; then agent_flags="$agent_flags --allow-scripts"; fi

  restore_dependencies "$folder" &
  child=$!
  wait "$child"
  child=

  backoff=1
  while :; do
    # Rotation happens between runs: reopen this shell's output on the fresh file for both.
    rotate_log
    exec >>"$LOG_FILE" 2>&1
    started=$(date +%s)
    stamp "starting: warmsync agent $folder --server $SERVER_URL --workspace $WORKSPACE_NAME$agent_flags"
    # shellcheck disable=SC2086 # agent_flags holds whole flags without spaces, split on purpose.
    "$WARMSYNC_BIN" agent "$folder" --server "$SERVER_URL" --workspace "$WORKSPACE_NAME" \
      --state "$STATE_DIR/agent" $agent_flags &
    child=$!
    wait "$child"
    agent_status=$?
    child=
    ran=$(($(date +%s) - started))
    if [ "$ran" -ge "$HEALTHY_RUN_SECONDS" ]; then backoff=1; fi
    stamp "agent exited with status $agent_status after ${ran}s; restarting in ${backoff}s"
    sleep "$backoff" &
    child=$!
    wait "$child"
    child=
    backoff=$((backoff * 2))
    if [ "$backoff" -gt "$MAX_BACKOFF_SECONDS" ]; then backoff=$MAX_BACKOFF_SECONDS; fi
    load_token
  done
}

command=${1:-start}
[ "$#" -eq 0 ] || shift
case "$command" in
  start) start "${1:-}" ;;
  stop) stop ;;
  restart)
    stop
    start "${1:-}"
    ;;
  status) status ;;
  supervise)
    [ "$#" -eq 1 ] || fail "usage: start-agent.sh supervise FOLDER"
    supervise "$1"
    ;;
  *) fail "usage: start-agent.sh [start [FOLDER] | stop | restart [FOLDER] | status]" ;;
esac
