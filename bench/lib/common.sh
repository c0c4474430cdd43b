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
  destroy_retrying zpool "${pool}" "" -f
  stop_zfs_fuse_if_idle
  exec {tl}>&-
  tl=""
}

# `serial TOOL destroy FLAGS NAME` (TOOL zfs or zpool) until TOOL lists NAME no more: zfs-fuse
# answers "busy" for a while after an unmount, so retry as kleened does (backoff from 0.1 s
# doubling to 1 s; the 12th and last attempt with LAST_FLAGS, and its error shown).
destroy_retrying() {
  local tool=$1 name=$2 flags=$3 last_flags=$4 attempt delay=0.1
  for attempt in {1..12}; do
    serial "${tool}" list -H -o name "${name}" >/dev/null 2>&1 || return 0
    if ((attempt == 12)); then
      # shellcheck disable=SC2086 # flags: zero or more words
      serial "${tool}" destroy ${last_flags} "${name}"
      return
    fi
    # shellcheck disable=SC2086
    serial "${tool}" destroy ${flags} "${name}" 2>/dev/null && return 0
    sleep "${delay}"
    delay="$(awk -v d="${delay}" 'BEGIN {print (d * 2 < 1) ? d * 2 : 1}')"
  done
}

# Writes the config of a bench's own kleened to $1: datasets under $2 (kleene_root); socket,
# log, pidfile, run dir and store under $3 (the bench's work dir, tmpfs); $4 says whose it is.
# With $5 (a size, e.g. 1G) it adds a throw-away pool (the pool of $2) on a sparse file in $3
# for `kleened init` (create_bench_pool), kept out of zpool.cache.
write_kleened_config() {
  local file=$1 root=$2 dir=$3 whose=$4 pool_size=${5:-}
  cat >"${file}" <<EOF
# kleened of ${whose}: state on tmpfs under ${dir}.
kleene_root: ${root}
api_listening_sockets:
  - address: http://${dir}/k.sock
log_file: ${dir}/k.log
log_level: ${KLEENED_LOG_LEVEL:-info}
plugin_dirs:
  - ${plugin_dir}
keeper_path: ${keeper}
run_dir: ${dir}/run
pidfile: ${dir}/k.pid
metadata_db: ${dir}/m.sqlite
stop_timeout: 2
EOF
  [[ -n "${pool_size}" ]] || return 0
  cat >>"${file}" <<EOF
plugins:
  zfs:
    pool_file: ${dir}/pool.img
    pool_size: ${pool_size}
    pool_mountpoint: ${dir}/mnt
    pool_cachefile: none
    zfs_fuse_pidfile: ${zfs_fuse_pidfile}
EOF
}

# Network namespace $1 (made, lo up), a throw-away pool $2 of size $4 made by `kleened init`,
# and a kleened of its own inside the namespace, its state under $3 (write_kleened_config; $5
# says whose). Sets made_ns, made_pool and made_daemon as it goes, for the caller's cleanup.
start_bench_kleened() {
  local ns=$1 pool=$2 dir=$3 size=$4 whose=$5
  ip netns add "${ns}"
  made_ns=1
  ip -n "${ns}" link set lo up
  write_kleened_config "${dir}/kleened.yaml" "${pool}/kleene" "${dir}" "${whose}" "${size}"
  made_pool=1
  create_bench_pool "${dir}/kleened.yaml" "${pool}" "${dir}/init.log"
  made_daemon=1
  start_kleened_in "${ns}" "${dir}/kleened.yaml" "${dir}/k.pid" "${dir}/k.log"
}

# Refuses to start over the leftovers of a run that was killed hard (network namespace $1 or
# pool $2 of bench $3 still there: whose they are is not guessed), then makes the bench's work
# dir on tmpfs and sets `work`, `sock` and `pidfile` (where start_bench_kleened puts them).
begin_bench_work() {
  local ns=$1 pool=$2 name=$3
  if grep -q "^${ns}\b" <<<"$(ip netns list)" || serial zpool list -H -o name "${pool}" >/dev/null 2>&1; then
    fail "${name} exists already (a previous run did not clean up): remove it with
  ip netns pids ${ns}   # stop these first
  zpool destroy ${pool}; ip netns del ${ns}"
  fi
  work="$(mktemp -d "/dev/shm/${name}.XXXXXX")"
  sock="${work}/k.sock"
  pidfile="${work}/k.pid"
}

# Removes the work dir $1 of start_bench_kleened unless something is still mounted below it or
# its pool $2 (whose file is in it) is still imported: never delete through a mount or under a
# live pool.
remove_bench_work() {
  local dir=$1 pool=$2
  if grep -q " ${dir}[/ ]" /proc/self/mountinfo; then
    echo "error: still mounted below ${dir}; left in place" >&2
  elif serial zpool list -H -o name "${pool}" >/dev/null 2>&1; then
    echo "error: pool ${pool} is still imported; ${dir} (its file) left in place" >&2
  else
    rm -rf --one-file-system "${dir}"
  fi
}

# The end of a bench's cleanup, after it stopped its kleened: the pool and namespace
# start_bench_kleened made (made_pool, made_ns), kleened's log copied to $KLEENED_LOG if asked
# for, the work dir $3, then the check that nothing of netns $1, pool $2 or /dev/shm/$4.* is
# left (exit 1 naming it).
finish_bench_kleened() {
  local ns=$1 pool=$2 dir=$3 name=$4 left
  [[ -n "${made_pool:-}" ]] && destroy_bench_pool "${pool}"
  [[ -n "${made_ns:-}" ]] && ip netns del "${ns}"
  [[ -n "${KLEENED_LOG:-}" && -f "${dir}/k.log" ]] && cp "${dir}/k.log" "${KLEENED_LOG}"
  remove_bench_work "${dir}" "${pool}"
  left="$(bench_leftovers "${ns}" "${pool}" "${name}")"
  if [[ -n "${left}" ]]; then
    echo "error: ${name} left behind:${left}" >&2
    exit 1
  fi
}

# Prints what start_bench_kleened made that is still there (" netns pool mount"), for netns $1,
# pool $2 and work dirs /dev/shm/$3.*; nothing when all is gone.
bench_leftovers() {
  local ns=$1 pool=$2 name=$3 left=""
  grep -q "^${ns}\b" <<<"$(ip netns list)" && left+=" netns"
  serial zpool list -H -o name "${pool}" >/dev/null 2>&1 && left+=" pool"
  grep -q " /dev/shm/${name}\." /proc/self/mountinfo && left+=" mount"
  printf '%s' "${left}"
}
