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

# Throw-away pools of the benches. Where the kernel has no ZFS and no zfs-fuse answers,
# `kleened init` starts zfs-fuse (which imports the pools of its zpool.cache, the host's zroot
# among them); the bench takes the test suite's lock for it and stops it again when its pool is
# gone, unless pools other than those zfs-fuse imported by itself were made on it meanwhile.
test_lock=/tmp/kleene-test-zfs.lock
test_record=/tmp/kleene-test-zfs-fuse.pid
zfs_fuse_pidfile=/var/run/zfs-fuse.pid
fuse_pid=""   # a zfs-fuse that `kleened init` started for the bench
fuse_pools="" # the pools that zfs-fuse imported by itself
tl=""         # the fd of the test suite's lock while it is held

zpool_answers() { serial zpool list -H -o name >/dev/null 2>&1; }
# A live zfs-fuse (not a zombie waiting for PID 1 to reap it) with this PID.
is_zfs_fuse() {
  local stat
  [[ "$1" =~ ^[0-9]+$ ]] && stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ "${stat}" == *"(zfs-fuse) "* && "${stat##*) }" != Z* ]]
}

# Makes pool $2 with `kleened init --config $1` (the config's plugins.zfs section says where:
# a sparse file on tmpfs, pool_cachefile none), under the test suite's lock; $3 gets init's
# output. Fails the bench if init fails.
create_bench_pool() {
  local config=$1 pool=$2 log=$3 zfs_before=""
  exec {tl}>>"${test_lock}"
  flock "${tl}"
  [[ -e /dev/zfs ]] || ! zpool_answers || zfs_before=1
  if ! "${kleened}" init --config "${config}" >"${log}" 2>&1; then
    cat "${log}" >&2
    fail "kleened init failed"
  fi
  if [[ ! -e /dev/zfs && -z "${zfs_before}" ]]; then
    # Started by init: recorded like a test pool's (the last test pool to go stops it), and
    # stopped by destroy_bench_pool if only the pools it imported by itself are left.
    fuse_pid="$(cat "${zfs_fuse_pidfile}" 2>/dev/null || true)"
    if is_zfs_fuse "${fuse_pid}"; then
      fuse_pools="$(serial zpool list -H -o name | grep -vx "${pool}" || true)"
      is_zfs_fuse "$(cat "${test_record}" 2>/dev/null || true)" || echo "${fuse_pid}" >"${test_record}"
    else
      fuse_pid=""
    fi
  fi
  exec {tl}>&-
  tl=""
}

# After the pool is gone: stop the zfs-fuse the bench started if no pool is left but those it
# imported by itself at start-up (from its zpool.cache, e.g. the host's zroot: they were not
# imported before, as nothing served ZFS). Call with the test lock held.
stop_zfs_fuse_if_idle() {
  [[ -n "${fuse_pid}" ]] || return 0
  is_zfs_fuse "${fuse_pid}" || return 0
  local pools extra
  pools="$(serial zpool list -H -o name 2>/dev/null)" || return 0
  extra="$(comm -23 <(sort <<<"${pools}") <(sort <<<"${fuse_pools}") | grep . || true)"
  if [[ -n "${extra}" ]]; then
    echo "note: zfs-fuse (PID ${fuse_pid}) stays for the pools made on it since: $(tr "\n" " " <<<"${extra}")" >&2
    return 0
  fi
  [[ "$(cat "${test_record}" 2>/dev/null)" == "${fuse_pid}" ]] && rm -f "${test_record}"
  kill -TERM "${fuse_pid}" 2>/dev/null || return 0
  # It daemonized (not our child): poll for its exit; zfs-fuse takes a few seconds.
  local i
  for i in {1..150}; do
    is_zfs_fuse "${fuse_pid}" || return 0
    sleep 0.1
  done
  echo "error: zfs-fuse (PID ${fuse_pid}) did not exit within 15 s" >&2
}

# Destroys pool $1 (made by create_bench_pool; its kleened stopped) and stops zfs-fuse as above.
destroy_bench_pool() {
  local pool=$1
  # (held already when kleened init failed: a second flock of our own would wait forever)
  if [[ -z "${tl}" ]]; then
    exec {tl}>>"${test_lock}"
    flock "${tl}"
  fi
  # zfs-fuse answers "dataset is busy" for a while after an unmount: retry as kleened does.
  local attempt delay=0.1
  for attempt in {1..12}; do
    serial zpool list -H -o name "${pool}" >/dev/null 2>&1 || break
    if ((attempt == 12)); then
      serial zpool destroy -f "${pool}"
      break
    fi
    serial zpool destroy "${pool}" 2>/dev/null && break
    sleep "${delay}"
    delay="$(awk -v d="${delay}" 'BEGIN {print (d * 2 < 1) ? d * 2 : 1}')"
  done
  stop_zfs_fuse_if_idle
  exec {tl}>&-
  tl=""
}
