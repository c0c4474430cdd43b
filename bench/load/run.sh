#!/usr/bin/env bash
# API load: CLIENTS (50) clients at once send CALLS (10 000) API calls in all to one kleened, a
# mixed workload (kleene_bench_load, bench/load/load.cpp): lists and inspects; container
# create, inspect, exec create, remove; volume create, inspect, remove; network create,
# connect, disconnect, remove; a few container start (exec start over a WebSocket) and stop;
# and 404s on purpose. Every status is checked: a call that should succeed and fails fails the
# bench. It records p50/p99/max per call type, kleened's RSS (before, peak, after), threads and
# open descriptors, and checks that the load left nothing behind: no container, volume or
# network in kleened, no dataset but the image's, no cgroup under kleene, no link in the
# namespace but lo, no more descriptors in kleened than before.
#
# The bench never uses the host's kleened or pool: it starts its own kleened inside a network
# namespace it creates (kl-bench-load), with its state on tmpfs and its datasets on a throw-away
# file-backed pool kl-bench-load (2 GB sparse, on tmpfs, kept out of zpool.cache) made by
# `kleened init` (zfs-fuse where the kernel has no ZFS, as bench/build/run.sh), and removes all
# of it on exit, then checks that nothing named kl-bench-load is left.
#   usage: sudo bench/load/run.sh            CLIENTS=50 CALLS=10000 SEED=1
# Binaries: KLEENED, KLEE, KEEPER, PLUGIN_DIR as the other benches; LOAD_GEN the generator
# (default: build/bench/load/kleene_bench_load). Writes bench/results/load-<date>.{md,json};
# KLEENED_LOG=PATH keeps the bench kleened's log there.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=bench/lib/common.sh
source "${repo}/bench/lib/common.sh"
clients="${CLIENTS:-50}"
calls="${CALLS:-10000}"
seed="${SEED:-1}"
load_gen="${LOAD_GEN:-${build}/bench/load/kleene_bench_load}"
out_dir="${repo}/bench/results"
stamp="$(date -u +%Y-%m-%d)"
report="${out_dir}/load-${stamp}.md"
json="${out_dir}/load-${stamp}.json"
name=kl-bench-load
ns="${name}"
pool="${name}"

[[ ${EUID} -eq 0 ]] || fail "run as root (network namespaces, ZFS)"
for n in "${clients}" "${calls}" "${seed}"; do
  [[ "${n}" =~ ^[1-9][0-9]*$ ]] || fail "CLIENTS, CALLS and SEED must be positive numbers, not '${n}'"
done
((clients <= 200)) || fail "CLIENTS at most 200 (each network client gets a /24 of 10.201.0.0/16)"
for bin in "${kleened}" "${klee}" "${keeper}" "${load_gen}"; do
  [[ -x "${bin}" ]] || fail "${bin} not found or not executable (set KLEENED, KLEE, KEEPER, LOAD_GEN;
  the generator: cmake --build build --target kleene_bench_load)"
done
for plugin in storage-zfs net-loopback; do
  [[ -f "${plugin_dir}/${plugin}.so" ]] || fail "${plugin_dir}/${plugin}.so not found (set PLUGIN_DIR)"
done
need=()
for tool in curl jq nsenter; do command -v "${tool}" >/dev/null || need+=("${tool}"); done
if ((${#need[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]/nsenter/util-linux}" >/dev/null
fi


# State on tmpfs; everything is removed on exit, in the reverse order of its making.
begin_bench_work "${ns}" "${pool}" "${name}"
made_ns=""
made_daemon=""
made_pool=""
k() { "${klee}" --host "http://${sock}" "$@"; }

cleanup() {
  set +e
  if [[ -n "${made_daemon}" ]]; then
    k image rm base >/dev/null 2>&1
    stop_kleened "${pidfile}"
  fi
  finish_bench_kleened "${ns}" "${pool}" "${work}" "${name}"
}
trap cleanup EXIT

start_bench_kleened "${ns}" "${pool}" "${work}" 2G bench/load/run.sh
pid="$(cat "${pidfile}")"

bash "${repo}/tests/fixtures/make-busybox-rootfs" "${work}/rootfs.tar.gz" >/dev/null
k image create -t base fetch "file://${work}/rootfs.tar.gz" >/dev/null

# What the load may change and must give back.
state() {
  echo "## datasets"
  serial zfs list -H -o name -r "${pool}"
  echo "## cgroups"
  find /sys/fs/cgroup/*/kleene -mindepth 1 -type d 2>/dev/null | sort
  echo "## links"
  ip -n "${ns}" -o link show | awk -F': ' '{print $2}'
}
state >"${work}/before.txt"

echo "load: ${clients} clients, ${calls} calls on kleened PID ${pid} (pool ${pool}, netns ${ns})" >&2
gen_status=0
timeout 1800 "${load_gen}" --socket "${sock}" --pid "${pid}" --clients "${clients}" \
  --calls "${calls}" --seed "${seed}" --image base --json "${work}/load.json" \
  --markdown "${work}/load.md" || gen_status=$?

# Nothing of the load may be left, in kleened or on the host.
state >"${work}/after.txt"
left=()
api() { curl -sf --unix-socket "${sock}" "http://localhost$1"; }
[[ "$(api '/containers/list?all=true' | jq length)" == 0 ]] || left+=("containers")
[[ "$(api /volumes/list | jq length)" == 0 ]] || left+=("volumes")
[[ "$(api /networks/list | jq '[.[] | select(.name | startswith("kl-load-"))] | length')" == 0 ]] ||
  left+=("networks")
diff -u "${work}/before.txt" "${work}/after.txt" >"${work}/state.diff" || left+=("host state (datasets, cgroups or links; diff below)")
fds_before="$(jq '.kleened.fds.before' "${work}/load.json" 2>/dev/null || echo 0)"
fds_after="$(jq '.kleened.fds.after' "${work}/load.json" 2>/dev/null || echo 0)"
((fds_after <= fds_before)) || left+=("descriptors (${fds_before} -> ${fds_after})")

mkdir -p "${out_dir}"
jq --arg left "${left[*]}" --arg commit "$(git -C "${repo}" rev-parse --short HEAD)" \
  --arg host "$(uname -srm), $(nproc) CPUs" \
  '. + {left_behind: $left, commit: $commit, host: $host}' "${work}/load.json" >"${json}"
{
  echo "# API load — ${stamp}"
  echo
  echo "Host: $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the end;"
  echo "kleene $(git -C "${repo}" rev-parse --short HEAD); \`bench/load/run.sh\` (CLIENTS=${clients}"
  echo "CALLS=${calls} SEED=${seed}): a private kleened in netns ${ns} on the throw-away pool ${pool}"
  echo "(zfs-fuse where the kernel has no ZFS). The same figures as JSON: $(basename "${json}")."
  echo
  cat "${work}/load.md"
  echo
  if ((${#left[@]})); then
    echo "Left behind after the load: ${left[*]}."
    sed 's/^/    /' "${work}/state.diff"
  else
    echo "Left behind after the load: nothing (containers, volumes, networks, datasets, cgroups,"
    echo "links in the namespace, kleened's descriptors: as before)."
  fi
} >"${report}"
cat "${report}"
((gen_status == 0)) || fail "the load generator failed (status ${gen_status}); see above"
((${#left[@]} == 0)) || fail "the load left things behind: ${left[*]}"
