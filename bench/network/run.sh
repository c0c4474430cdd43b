#!/usr/bin/env bash
# Container start with a network against without one, side by side in one hyperfine run:
#   host      klee start -a of a container with --network host (no namespace, no endpoint)
#   disabled  -l disabled: its own network namespace, no endpoint (the namespace's cost alone)
#   ipnet     -l ipnet on a loopback network: a routed point-to-point veth joined at start
#   vnet      -l vnet on a bridge network: a veth port of the network's bridge joined at start
# Every container runs /bin/true from the busybox rootfs; a start joins the endpoint and the
# exit leaves it again. Target (issue 5): a network adds at most 2 ms to a start.
#
# kleened turns on net.ipv4.ip_forward in its network namespace when a container attaches to a
# network, so this bench never uses the host's kleened: it starts its own kleened inside a
# network namespace it creates (kl-bench-net), with its state on tmpfs and its datasets under
# <pool>/kl-bench-net, and removes all of it on exit (containers, networks, image, kleened,
# datasets, namespace, files), then checks that nothing named kl-bench* is left and that the
# host's ip_forward did not change.
#   usage: sudo bench/network/run.sh [RUNS]
# Binaries: KLEENED, KLEE, KEEPER, PLUGIN_DIR (default: the build tree build/ if it has them,
# else the installed ones). Pool: KLEENE_POOL (default: the first imported pool that is not a
# throw-away test pool kltest*). Writes bench/results/networks-<date>.{md,json}.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${1:-30}"
# shellcheck source=bench/lib/common.sh
source "${repo}/bench/lib/common.sh"
out_dir="${repo}/bench/results"
stamp="$(date -u +%Y-%m-%d)"
report="${out_dir}/networks-${stamp}.md"
json="${out_dir}/networks-${stamp}.json"
ns=kl-bench-net
drivers=(host disabled ipnet vnet)


[[ ${EUID} -eq 0 ]] || fail "run as root (network namespaces, ZFS)"
[[ "${runs}" =~ ^[1-9][0-9]*$ ]] || fail "RUNS must be a positive number, not '${runs}'"
for bin in "${kleened}" "${klee}" "${keeper}"; do
  [[ -x "${bin}" ]] || fail "${bin} not found or not executable (set KLEENED, KLEE, KEEPER)"
done
for plugin in net-loopback net-vnet net-host storage-zfs; do
  [[ -f "${plugin_dir}/${plugin}.so" ]] || fail "${plugin_dir}/${plugin}.so not found (set PLUGIN_DIR)"
done

need=()
for tool in hyperfine jq nsenter; do command -v "${tool}" >/dev/null || need+=("${tool}"); done
if ((${#need[@]})); then
  pkgs=("${need[@]/nsenter/util-linux}")
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

pool="${KLEENE_POOL:-$(serial zpool list -H -o name 2>/dev/null | grep -v '^kltest' | sed -n 1p || true)}"
if [[ -z "${pool}" ]]; then
  fail "no ZFS pool (run scripts/quickstart first, or set KLEENE_POOL)"
elif ! serial zpool list -H -o name "${pool}" >/dev/null 2>&1; then
  fail "no ZFS pool ${pool} (run scripts/quickstart first, or set KLEENE_POOL)"
fi
root="${pool}/${ns}"

# Leftovers of a run that was killed hard: refuse rather than guess whose they are.
if grep -q "^${ns}\b" <<<"$(ip netns list)" || serial zfs list -H -o name "${root}" >/dev/null 2>&1; then
  fail "${ns} exists already (a previous run did not clean up): remove it with
  ip netns pids ${ns}   # stop these first
  zfs destroy -r ${root}; ip netns del ${ns}"
fi

forward_before="$(cat /proc/sys/net/ipv4/ip_forward)"

# State on tmpfs; everything is removed on exit, in the reverse order of its making.
work="$(mktemp -d /dev/shm/kl-bench.XXXXXX)"
sock="${work}/k.sock"
pidfile="${work}/k.pid"
made_ns=""
made_daemon=""
k() { "${klee}" --host "http://${sock}" "$@"; }

cleanup() {
  set +e
  if [[ -n "${made_daemon}" ]]; then
    for d in "${drivers[@]}"; do k container rm -f "kl-bench-${d}" >/dev/null 2>&1; done
    k network rm kl-bench-lo kl-bench-br >/dev/null 2>&1
    k image rm base >/dev/null 2>&1
    stop_kleened "${pidfile}"
  fi
  destroy_retrying zfs "${root}" -r -r
  [[ -n "${made_ns}" ]] && ip netns del "${ns}"
  rm -rf "${work}"

  local left="" links netns datasets
  links="$(ip -o link show)"
  netns="$(ip netns list)"
  datasets="$(serial zfs list -H -o name 2>/dev/null)"
  grep -q ': kl-bench' <<<"${links}" && left+=" link"
  grep -q '^kl-bench' <<<"${netns}" && left+=" netns"
  grep -q '/kl-bench' <<<"${datasets}" && left+=" dataset"
  local status=0 forward_after
  if [[ -n "${left}" ]]; then
    echo "error: kl-bench* left behind:${left}" >&2
    status=1
  fi
  forward_after="$(cat /proc/sys/net/ipv4/ip_forward)"
  if [[ "${forward_after}" != "${forward_before}" ]]; then
    echo "error: the host's net.ipv4.ip_forward changed: ${forward_before} -> ${forward_after}" >&2
    status=1
  fi
  ((status == 0)) || exit "${status}"
}
trap cleanup EXIT

ip netns add "${ns}"
made_ns=1
ip -n "${ns}" link set lo up

write_kleened_config "${work}/kleened.yaml" "${root}" "${work}" bench/network/run.sh

made_daemon=1
start_kleened_in "${ns}" "${work}/kleened.yaml" "${pidfile}" "${work}/k.log"

bash "${repo}/tests/fixtures/make-busybox-rootfs" "${work}/rootfs.tar.gz" >/dev/null
k image create -t base fetch "file://${work}/rootfs.tar.gz" >/dev/null
k network create --subnet 10.77.0.0/24 -t loopback kl-bench-lo >/dev/null
k network create --subnet 10.78.0.0/24 -t bridge -i kl-bench-br0 kl-bench-br >/dev/null
k create --name kl-bench-host --network host base /bin/true >/dev/null
k create --name kl-bench-disabled -l disabled base /bin/true >/dev/null
k create --name kl-bench-ipnet -l ipnet -n kl-bench-lo base /bin/true >/dev/null
k create --name kl-bench-vnet -l vnet -n kl-bench-br base /bin/true >/dev/null

cmds=()
for d in "${drivers[@]}"; do cmds+=(-n "${d}" "${klee} --host http://${sock} start -a kl-bench-${d}"); done
hyperfine --warmup 3 --runs "${runs}" -N --export-markdown "${work}/times.md" --export-json "${work}/times.json" \
  "${cmds[@]}"

# Statistics from hyperfine's samples, in ms.
stat() {
  jq -r --arg n "$1" --arg q "$2" '
    .results[] | select(.command == $n) | .times | sort | map(. * 1000) as $t |
    if $q == "median" then (if ($t | length) % 2 == 1 then $t[($t | length) / 2 | floor]
                             else ($t[($t | length) / 2 - 1] + $t[($t | length) / 2]) / 2 end)
    elif $q == "p90" then $t[((($t | length) * 0.9) | ceil) - 1]
    elif $q == "min" then $t[0]
    else $t[-1] end' "${work}/times.json"
}
ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v}'; }
added() { awk -v a="$(stat "$1" median)" -v b="$(stat "$2" median)" 'BEGIN {printf "%+.1f", a - b}'; }
verdict() { awk -v a="$(stat "$1" median)" -v b="$(stat "$2" median)" 'BEGIN {print (a - b <= 2.0) ? "met" : "missed"}'; }

mkdir -p "${out_dir}"
cp "${work}/times.json" "${json}"
{
  echo "# Container start with and without a network — ${stamp}"
  echo
  echo "Host: $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); kleene $(git -C "${repo}" rev-parse --short HEAD);"
  echo "pool ${pool}; a private kleened in network namespace ${ns}; \`klee start -a\` of an existing"
  echo "container running /bin/true; ${runs} runs each, 3 warm-up runs. hyperfine's JSON: $(basename "${json}")."
  echo
  echo "| driver | median [ms] | p90 [ms] | min [ms] | max [ms] |"
  echo "|---|---:|---:|---:|---:|"
  for d in "${drivers[@]}"; do
    echo "| ${d} | $(ms "$(stat "${d}" median)") | $(ms "$(stat "${d}" p90)") | $(ms "$(stat "${d}" min)") | $(ms "$(stat "${d}" max)") |"
  done
  echo
  echo "| added by (medians) | over host [ms] | target ≤ 2 ms | over disabled [ms] | target ≤ 2 ms |"
  echo "|---|---:|---|---:|---|"
  for d in ipnet vnet; do
    echo "| ${d} | $(added "${d}" host) | $(verdict "${d}" host) | $(added "${d}" disabled) | $(verdict "${d}" disabled) |"
  done
  echo "| disabled (own netns only) | $(added disabled host) | — | — | — |"
  echo
  cat "${work}/times.md"
} >"${report}"
cat "${report}"
