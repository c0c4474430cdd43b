# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the script that sources this
# Sourced by the bench scripts: fail, serial (zfs commands under kleened's lock), and where
# kleened, klee, the keeper and the plugins are. The build
# tree's when it has been built (`build/`), else the installed ones (/usr/local, as
# scripts/quickstart installs them); KLEENED, KLEE, KEEPER and PLUGIN_DIR override each.
# Expects `repo` (the checkout's root) to be set.
# shellcheck disable=SC2154 # repo is set by the script that sources this
build="${repo}/build"
if [[ -x "${build}/core/daemon/kleened" ]]; then
  kleened="${KLEENED:-${build}/core/daemon/kleened}"
  klee="${KLEE:-${build}/cli/klee}"
  keeper="${KEEPER:-${build}/core/runtime/keeper/kleene-keeper}"
  plugin_dir="${PLUGIN_DIR:-${build}/plugins}"
else
  kleened="${KLEENED:-/usr/local/bin/kleened}"
  klee="${KLEE:-/usr/local/bin/klee}"
  keeper="${KEEPER:-/usr/local/libexec/kleene/kleene-keeper}"
  plugin_dir="${PLUGIN_DIR:-/usr/local/lib/kleene/plugins}"
fi

fail() {
  echo "error: $*" >&2
  exit 1
}

# Without kernel ZFS, zfs-fuse deadlocks under concurrent commands: run zfs and zpool under
# kleened's command lock (storage-zfs's command_lock), as every kleened on the machine does.
serial() {
  if [[ -e /dev/zfs ]]; then
    "$@"
  else
    flock -w 300 /run/kleene-zfs-fuse.lock "$@"
  fi
}

# Starts kleened with config $2 inside network namespace $1 (--daemon returns once the socket
# listens and storage is open) and checks that it runs there, never in the host's namespace.
# $3 is its pidfile, $4 its log (shown when it does not start).
start_kleened_in() {
  local ns=$1 config=$2 pidfile=$3 log=$4 pid
  if ! nsenter --net="/run/netns/${ns}" "${kleened}" --config "${config}" --daemon; then
    tail -n 20 "${log}" >&2 2>/dev/null || true
    fail "kleened did not start (its log is above; the temp dir is removed on exit)"
  fi
  pid="$(cat "${pidfile}")"
  [[ "$(stat -L -c %i "/proc/${pid}/ns/net")" == "$(stat -L -c %i "/run/netns/${ns}")" ]] ||
    fail "kleened (PID ${pid}) is not in network namespace ${ns}"
}

# Stops the kleened whose pidfile is $1. kleened holds an flock on its pidfile until it exits:
# open it before the SIGTERM and wait for the lock (the file is unlinked on exit, the open
# descriptor still works).
stop_kleened() {
  local pidfile=$1 pid lock
  pid="$(cat "${pidfile}" 2>/dev/null)"
  if [[ "${pid}" =~ ^[0-9]+$ ]] && exec {lock}<"${pidfile}"; then
    kill -TERM "${pid}"
    flock -w 30 "${lock}" || echo "error: kleened (PID ${pid}) did not exit within 30 s" >&2
    exec {lock}<&-
  fi
}
