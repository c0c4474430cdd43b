#!/usr/bin/env bash
# kleene side by side with the floor, runc, crun, podman and docker, in one run on one machine,
# as ratios (see bench/README.md). This script prepares the engines on the same busybox rootfs
# and removes everything it made afterwards; bench/compare/measure.py measures and reports.
#   floor   bench/compare/floor.c: clone with new namespaces + pivot_root + exec
#   runc    an OCI bundle of the rootfs (Debian's runc), state under the temp dir
#   crun    the same bundle; on a hybrid cgroup host crun refuses controllers on cgroup v2, so
#           the hugetlb controller is mounted as cgroup v1 for the run and given back after
#   podman  the rootfs imported; containers.conf with default_ulimits nofile/nproc, cgroupfs
#           manager, runc; storage (overlay) and run state under the temp dir
#   docker  dockerd started by hand inside the bench's network namespace with its own data and
#           exec roots, --default-ulimit nofile=20000:20000, no iptables, cgroup parent
#           kl-bench-docker; the rootfs imported
#   kleene  a kleened of its own inside the same network namespace on a throw-away pool
# A peer that cannot be installed or does not run is reported with the reason.
#
# Everything runs inside network namespace kl-bench-cmp (dockerd's bridge, kleened's bridge
# network and forwarding are that namespace's, never the host's); state lives under
# /dev/shm/kl-bench-cmp.*; the daemons it starts are stopped by PID. On exit it checks that no
# kl-bench-cmp netns, pool, mount, process or cgroup is left, that hugetlb is back on cgroup v2
# and that the host's ip_forward did not change (exit 1 if so).
#   usage: sudo bench/compare/run.sh [RUNS]         (RUNS: default 20)
# Environment: PEERS (default "floor runc crun podman docker"), PARALLEL (50), LS_COUNT (1000),
# PHASES (default "run lifecycle network parallel ls build storage"); KLEENED, KLEE, KEEPER, PLUGIN_DIR
# as for the other benches. Writes bench/results/compare-<date>.{md,json,png} (OUT=/path/base
# writes /path/base.{md,json,png} instead, e.g. for a quick try).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${1:-20}"
# shellcheck source=bench/lib/common.sh
source "${repo}/bench/lib/common.sh"
name=kl-bench-cmp
ns="${name}"
pool="${name}"
peers="${PEERS:-floor runc crun podman docker}"
parallel="${PARALLEL:-50}"
# zfs-fuse mounts at most ~1000 file systems; kleened keeps at most max_mounted_containers (768)
# container datasets mounted, so 1000 created containers fit there too.
ls_count="${LS_COUNT:-1000}"
phases="${PHASES:-run lifecycle network parallel ls build storage}"
out="${OUT:-${repo}/bench/results/compare-$(date -u +%Y-%m-%d)}" # + .md, .json, .png
py=/usr/bin/python3 # Debian's (measure.py needs its standard library only)
docker_cli=/usr/bin/docker # docker.io's client, the same version as its dockerd

[[ ${EUID} -eq 0 ]] || fail "run as root (namespaces, cgroups, ZFS)"
for n in "${runs}" "${parallel}" "${ls_count}"; do
  [[ "${n}" =~ ^[1-9][0-9]*$ ]] || fail "RUNS, PARALLEL and LS_COUNT must be positive numbers, not '${n}'"
done
for bin in "${kleened}" "${klee}" "${keeper}"; do
  [[ -x "${bin}" ]] || fail "${bin} not found or not executable (set KLEENED, KLEE, KEEPER)"
done
for plugin in storage-zfs net-vnet builder; do
  [[ -f "${plugin_dir}/${plugin}.so" ]] || fail "${plugin_dir}/${plugin}.so not found (set PLUGIN_DIR)"
done

# Packages: what the harness needs, then each peer's; a peer whose install fails is reported.
# Installing docker.io or podman must not start a service on the host: invoke-rc.d asks
# policy-rc.d, which we provide for the install if the machine has none.
apt_install() {
  local made_policy="" status=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >"/tmp/${name}-apt.log" 2>&1 || status=$?
  [[ -n "${made_policy}" ]] && rm -f /usr/sbin/policy-rc.d
  return "${status}"
}
need=()
for tool in python3:python3 gnuplot:gnuplot-nox jq:jq nsenter:util-linux cc:gcc tini:tini; do
  [[ -x "/usr/bin/${tool%%:*}" ]] || need+=("${tool#*:}")
done
((${#need[@]} == 0)) || apt_install "${need[@]}" || fail "apt-get install ${need[*]} failed (/tmp/${name}-apt.log)"
declare -A reason=()
declare -A packages=([runc]="runc" [crun]="crun" [podman]="podman conmon runc" [docker]="docker.io containerd runc")
declare -A binary=([runc]=/usr/sbin/runc [crun]=/usr/bin/crun [podman]=/usr/bin/podman [docker]=/usr/sbin/dockerd)
for peer in ${peers}; do
  [[ "${peer}" == floor || -x "${binary[${peer}]:-/nonexistent}" ]] && continue
  [[ -n "${packages[${peer}]:-}" ]] || fail "unknown peer '${peer}' (floor runc crun podman docker)"
  # shellcheck disable=SC2086 # a list of packages
  apt_install ${packages[${peer}]} || reason[${peer}]="apt-get install ${packages[${peer}]} failed"
done


forward_before="$(cat /proc/sys/net/ipv4/ip_forward)"
containers_dir_before="" libpod_lock_before="" # podman's state and SHM locks, if there already
[[ -e /var/lib/containers ]] && containers_dir_before=1
[[ -e /dev/shm/libpod_lock ]] && libpod_lock_before=1
cgroups_before="$(find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name 'libpod_parent' | sort)"

# State on tmpfs; everything is removed on exit, in the reverse order of its making.
begin_bench_work "${ns}" "${pool}" "${name}"
made_ns="" made_pool="" made_daemon="" made_hugetlb="" docker_pid="" podman_env=()
k() { "${klee}" --host "http://${sock}" "$@"; }
d() { "${docker_cli}" -H "unix://${work}/docker/sock" "$@"; }
p() { env "${podman_env[@]}" podman "$@"; }

# Gives hugetlb back to cgroup v2: a v1 hierarchy outlives its unmount while a removed child
# cgroup is still dying; mounting and unmounting it again once they are gone ends it.
restore_hugetlb() {
  local _ _2
  for _ in {1..20}; do
    mountpoint -q /sys/fs/cgroup/hugetlb && umount /sys/fs/cgroup/hugetlb
    for _2 in {1..10}; do
      [[ "$(awk '$1 == "hugetlb" {print $2}' /proc/cgroups)" == 0 ]] && break 2
      sleep 0.05
    done
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
  done
  mountpoint -q /sys/fs/cgroup/hugetlb && umount /sys/fs/cgroup/hugetlb
  rmdir /sys/fs/cgroup/hugetlb
}

# Removes the cgroup directories under every hierarchy named $1, deepest first.
remove_cgroups() {
  local dir
  while IFS= read -r dir; do
    rmdir "${dir}" 2>/dev/null || echo "error: cgroup ${dir} is busy" >&2
  done < <(find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -depth -type d -path "*/$1*" 2>/dev/null)
}

cleanup() {
  set +e
  # Containers first (measure.py removes its own; this is for a run that was interrupted).
  if [[ -n "${made_daemon}" ]]; then
    mapfile -t ids < <(k container ls -a 2>/dev/null | awk 'NR > 2 && $1 ~ /^[0-9a-f]+$/ {print $1}')
    ((${#ids[@]})) && k container rm -f "${ids[@]}" >/dev/null 2>&1
  fi
  if [[ -n "${docker_pid}" ]]; then
    mapfile -t ids < <(d ps -aq 2>/dev/null)
    ((${#ids[@]})) && d rm -f "${ids[@]}" >/dev/null 2>&1
    kill -TERM "${docker_pid}"
    wait "${docker_pid}" 2>/dev/null
  fi
  if ((${#podman_env[@]})); then
    p rm -fa -t 0 >/dev/null 2>&1
    p system reset -f >/dev/null 2>&1
  fi
  local runtime state
  for runtime in runc crun; do
    for state in "${work}/${runtime}"/*/; do
      [[ -d "${state}" ]] || continue
      "${runtime}" --root "${work}/${runtime}" delete --force "$(basename "${state}")" >/dev/null 2>&1
    done
  done
  [[ -n "${made_daemon}" ]] && stop_kleened "${pidfile}"
  [[ -n "${made_pool}" ]] && destroy_bench_pool "${pool}"
  # Whatever still runs from the work dir is ours (a floor container, a runc init): end it.
  local pid
  for pid in /proc/[0-9]*; do
    grep -qa -- "${work}" "${pid}/cmdline" 2>/dev/null && kill -KILL "${pid#/proc/}" 2>/dev/null
  done
  remove_cgroups kl-bench-docker
  remove_cgroups kl-b-
  [[ -z "${cgroups_before}" ]] && remove_cgroups libpod_parent
  [[ -n "${made_hugetlb}" ]] && restore_hugetlb
  [[ -n "${made_ns}" ]] && ip netns del "${ns}"
  [[ -z "${containers_dir_before}" ]] && rm -rf /var/lib/containers
  [[ -z "${libpod_lock_before}" ]] && rm -f /dev/shm/libpod_lock
  # Mounts docker or podman left below the work dir (overlay, netns files), deepest first.
  local m
  while IFS= read -r m; do umount -l "${m}"; done < <(awk -v w="${work}" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  remove_bench_work "${work}" "${pool}"

  local left
  left="$(bench_leftovers "${ns}" "${pool}" "${name}")"
  find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d \( -name 'kl-bench-docker' -o -name 'kl-b-*' \) | grep -q . && left+=" cgroup"
  [[ -z "${cgroups_before}" ]] && find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -name libpod_parent | grep -q . && left+=" libpod-cgroup"
  [[ -n "${made_hugetlb}" && "$(awk '$1 == "hugetlb" {print $2}' /proc/cgroups)" != 0 ]] && left+=" hugetlb-v1"
  for pid in /proc/[0-9]*; do
    grep -qa -- "/dev/shm/${name}\." "${pid}/cmdline" 2>/dev/null && left+=" process:${pid#/proc/}"
  done
  [[ -z "${libpod_lock_before}" && -e /dev/shm/libpod_lock ]] && left+=" /dev/shm/libpod_lock"
  [[ "$(cat /proc/sys/net/ipv4/ip_forward)" == "${forward_before}" ]] || left+=" host-ip_forward"
  if [[ -n "${left}" ]]; then
    echo "error: ${name} left behind:${left}" >&2
    exit 1
  fi
}
trap cleanup EXIT

# --- kleene -------------------------------------------------------------------------------
start_bench_kleened "${ns}" "${pool}" "${work}" 4G bench/compare/run.sh
storage_kleene="ZFS ($([[ -e /dev/zfs ]] && echo kernel || echo zfs-fuse), file-backed pool on tmpfs)"

rootfs_tar="${work}/rootfs.tar.gz"
bash "${repo}/tests/fixtures/make-busybox-rootfs" "${rootfs_tar}" >/dev/null
k image create -t kl-bench-img fetch "file://${rootfs_tar}" >/dev/null
# kleened idle with one image and nothing else: kleened gives its freed heap back 1 s after
# its last request, so "idle" is read 1.5 s after the import.
sleep 1.5
kleened_pid="$(cat "${pidfile}")"
kleened_idle="$(jq -n --argjson rss "$(awk '/^VmRSS:/ {print $2}' "/proc/${kleened_pid}/status")" \
  --argjson pss "$(awk '/^Pss:/ {print $2}' "/proc/${kleened_pid}/smaps_rollup")" --argjson pid "${kleened_pid}" \
  '{rss: $rss, pss: $pss, pid: $pid}')"
# The image's snapshot, for the storage phase's direct `zfs clone`.
image_snapshot="$(serial zfs list -H -o name -t snapshot -r "${pool}/kleene/image" | sed -n 1p)"
[[ -n "${image_snapshot}" ]] || fail "no snapshot of the image under ${pool}/kleene/image"
zfs_lock=/run/kleene-zfs-fuse.lock
k network create -t bridge --subnet 10.79.0.0/24 -i kl-bench-br0 kl-bench-br >/dev/null

# A context for the cached rebuild: the same Dockerfile for every engine.
ctx="${work}/ctx"
mkdir -p "${ctx}"
printf 'payload\n' >"${ctx}/a.txt"
cat >"${ctx}/Dockerfile" <<'EOF'
FROM kl-bench-img
ENV STAGE=bench
WORKDIR /app
COPY a.txt ./
RUN echo one > one.txt && cat a.txt > copy.txt
RUN mkdir gen && for i in 1 2 3 4 5; do echo "$i" > "gen/$i"; done
CMD ["cat", "/app/copy.txt"]
EOF

# --- the rootfs for the floor and the OCI runtimes ----------------------------------------
rootfs="${work}/rootfs"
mkdir -p "${rootfs}" "${work}/bundle-true" "${work}/bundle-sleep"
tar -xzf "${rootfs_tar}" -C "${rootfs}"
sleeper='["/bin/sh", "-c", "trap '"'"'exit 0'"'"' TERM; sleep 100000 & wait"]'
if command -v runc >/dev/null; then
  (cd "${work}" && runc spec && mv config.json spec.json)
  for b in true sleep; do
    args='["/bin/true"]'
    [[ "${b}" == sleep ]] && args="${sleeper}"
    jq --arg root "${rootfs}" --argjson args "${args}" \
      '.process.args = $args | .process.terminal = false | .root = {path: $root, readonly: false}' \
      "${work}/spec.json" >"${work}/bundle-${b}/config.json"
  done
fi
cc -O2 -Wall -o "${work}/floor" "${repo}/bench/compare/floor.c"

version_of() { "$@" 2>/dev/null | head -n 1 | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?[^ ,]*' | head -n 1; }
engines_json="$(jq -n --arg cli "${klee}" --arg sock "http://${sock}" --arg v "$(git -C "${repo}" rev-parse --short HEAD)" \
  '[{name: "kleene", available: true, version: $v, cli: [$cli, "--host", $sock], image: "kl-bench-img",
    socket: ($sock | ltrimstr("http://"))}]')"
add_engine() { engines_json="$(jq --argjson e "$1" '. + [$e]' <<<"${engines_json}")"; }
smoke() { # peer command... : runs a peer's smoke test, sets its reason if it fails
  local peer=$1 out
  shift
  if ! out="$("$@" 2>&1)"; then
    reason[${peer}]="does not run here: $(tail -n 1 <<<"${out}")"
    return 1
  fi
}

for peer in ${peers}; do
  [[ -z "${reason[${peer}]:-}" ]] || continue
  case "${peer}" in
    floor)
      smoke floor "${work}/floor" "${rootfs}" /bin/true || continue
      add_engine "$(jq -n --arg f "${work}/floor" --arg r "${rootfs}" \
        '{name: "floor", available: true, version: "floor.c", cli: [], floor: $f, rootfs: $r}')"
      ;;
    runc | crun)
      if [[ "${peer}" == crun ]] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null &&
        ! mountpoint -q /sys/fs/cgroup/hugetlb; then
        mkdir /sys/fs/cgroup/hugetlb
        made_hugetlb=1
        mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
      fi
      smoke "${peer}" "${peer}" --root "${work}/${peer}" run --bundle "${work}/bundle-true" "kl-b-smoke-${peer}" || continue
      add_engine "$(jq -n --arg n "${peer}" --arg v "$(version_of "${peer}" --version)" --arg root "${work}/${peer}" \
        --arg bt "${work}/bundle-true" --arg bs "${work}/bundle-sleep" \
        '{name: $n, available: true, version: $v, cli: [$n, "--root", $root], bundle_true: $bt, bundle_sleep: $bs}')"
      ;;
    podman)
      mkdir -p "${work}/podman"
      cat >"${work}/podman/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${work}/podman/events.log"
runtime = "runc"
tmp_dir = "${work}/podman/tmp"
volume_path = "${work}/podman/volumes"
[network]
network_config_dir = "${work}/podman/net"
EOF
      cat >"${work}/podman/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "${work}/podman/root"
runroot = "${work}/podman/run"
EOF
      podman_env=("CONTAINERS_CONF=${work}/podman/containers.conf" "CONTAINERS_STORAGE_CONF=${work}/podman/storage.conf"
        "CONTAINERS_REGISTRIES_CONF=/dev/null")
      smoke podman p import "${rootfs_tar}" kl-bench-img || continue
      smoke podman p run --rm --network none kl-bench-img /bin/true || continue
      add_engine "$(jq -n --arg v "$(version_of podman --version)" --arg c "${work}/podman/containers.conf" \
        --arg s "${work}/podman/storage.conf" \
        '{name: "podman", available: true, version: $v, cli: ["podman"], image: "kl-bench-img",
          env: {CONTAINERS_CONF: $c, CONTAINERS_STORAGE_CONF: $s, CONTAINERS_REGISTRIES_CONF: "/dev/null"}}')"
      ;;
    docker)
      mkdir -p "${work}/docker"
      nsenter --net="/run/netns/${ns}" dockerd --data-root "${work}/docker/root" --exec-root "${work}/docker/exec" \
        --pidfile "${work}/docker/pid" -H "unix://${work}/docker/sock" --default-ulimit nofile=20000:20000 \
        --iptables=false --ip-masq=false --userland-proxy=false --cgroup-parent kl-bench-docker \
        --exec-opt native.cgroupdriver=cgroupfs --log-level warn >"${work}/docker/log" 2>&1 &
      docker_pid=$!
      # dockerd starts its own containerd first: poll its API (a harness's start-up, not a test).
      for _ in {1..300}; do
        d version >/dev/null 2>&1 && break
        kill -0 "${docker_pid}" 2>/dev/null || break
        sleep 0.1
      done
      smoke docker d version || { reason[docker]+=" ($(tail -n 1 "${work}/docker/log"))"; continue; }
      smoke docker d import "${rootfs_tar}" kl-bench-img || continue
      smoke docker d run --rm --network none kl-bench-img /bin/true || continue
      add_engine "$(jq -n --arg v "$(d version --format '{{.Server.Version}}')" --arg cli "${docker_cli}" \
        --arg h "unix://${work}/docker/sock" \
        '{name: "docker", available: true, version: $v, cli: [$cli, "-H", $h], image: "kl-bench-img",
          env: {DOCKER_BUILDKIT: "0"}}')"
      ;;
    *) fail "unknown peer '${peer}' (floor runc crun podman docker)" ;;
  esac
done
for peer in "${!reason[@]}"; do
  add_engine "$(jq -n --arg n "${peer}" --arg r "${reason[${peer}]}" '{name: $n, available: false, reason: $r}')"
done

jq -n --argjson engines "${engines_json}" --argjson runs "${runs}" --argjson par "${parallel}" \
  --argjson ls "${ls_count}" --arg phases "${phases}" --arg ctx "${ctx}" \
  --arg commit "$(git -C "${repo}" rev-parse --short HEAD)" --arg kpid "${pidfile}" --arg dpid "${work}/docker/pid" \
  --argjson kidle "${kleened_idle}" --arg sk "${storage_kleene}" --arg snap "${image_snapshot}" --arg lock "${zfs_lock}" \
  '{engines: $engines, runs: $runs, parallel: $par, parallel_rounds: 3, ls_count: $ls,
    phases: ($phases | split(" ")), commit: $commit, build_context: {default: $ctx},
    bridge: {kleene: "kl-bench-br", docker: "bridge"},
    bridge_reason: {podman: "podman bridge networks (CNI) keep IPAM state under /var/lib/cni on the host: not set up",
                    runc: "an OCI runtime has no networks of its own", crun: "an OCI runtime has no networks of its own"},
    daemons: {kleened: $kpid, dockerd: $dpid}, kleened_idle: $kidle,
    zfs: {snapshot: $snap, parent: "'"${pool}"'/kleene", lock: $lock},
    storage: {kleene: $sk, docker: "overlay2 on tmpfs", podman: "overlay on tmpfs",
              "runc, crun, floor": "the unpacked rootfs on tmpfs"}}' >"${work}/engines.json"

mkdir -p "$(dirname "${out}")"
# Under tini as a subreaper: the runtimes' orphans (runc's and crun's container processes,
# conmon) are reaped at once, not whenever PID 1 gets to it (late on some hosts), so their
# cgroups go when they end.
nsenter --net="/run/netns/${ns}" tini -s -- "${py}" "${repo}/bench/compare/measure.py" "${work}/engines.json" "${out}"
