#!/usr/bin/env bash
# Container start and exec, side by side in one run (hyperfine interleaves nothing, but every
# command is timed in the same invocation on the same rootfs):
#   floor-run   unshare (mount, uts, ipc, net, pid) + chroot + /bin/true: the kernel's cost
#   runc-run    runc run of an OCI bundle of the same busybox rootfs
#   klee-run    klee run --network host base /bin/true (create + start + exec + exit; the
#               created containers are pruned afterwards)
#   klee-start  klee start -a of an existing container whose command is /bin/true: what runc
#               run does (no root filesystem to make; klee-run adds the ZFS clone)
#   floor-exec  nsenter into a running kleene container's namespaces + /bin/true
#   klee-exec   klee exec <that container> /bin/true
# and the RSS of kleened and of a container's keeper. Needs a running kleened with the image
# `base` (scripts/quickstart makes both). Writes bench/results/containers-<date>.md.
#   usage: sudo bench/container/run.sh [RUNS]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${1:-30}"
klee="${KLEE:-$(command -v klee || echo /usr/local/bin/klee)}"
out_dir="${repo}/bench/results"
stamp="$(date -u +%Y-%m-%d)"
report="${out_dir}/containers-${stamp}.md"

need=()
for tool in hyperfine runc jq nsenter; do command -v "${tool}" >/dev/null || need+=("${tool}"); done
if ((${#need[@]})); then
  pkgs=("${need[@]/nsenter/util-linux}")
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

"${klee}" image inspect base >/dev/null || {
  echo "error: no image 'base' (run scripts/quickstart first)" >&2
  exit 1
}

# State under a tmpfs-backed temp dir; removed on exit with everything we started.
work="$(mktemp -d /dev/shm/kl-bench.XXXXXX)"
container=""
started=""
cleanup() {
  [[ -n "${container}" ]] && "${klee}" container rm -f "${container}" >/dev/null 2>&1 || true
  [[ -n "${started}" ]] && "${klee}" container rm -f "${started}" >/dev/null 2>&1 || true
  rm -rf "${work}"
}
trap cleanup EXIT

bash "${repo}/tests/fixtures/make-busybox-rootfs" "${work}/rootfs.tar.gz" >/dev/null
mkdir -p "${work}/bundle/rootfs"
tar -xzf "${work}/rootfs.tar.gz" -C "${work}/bundle/rootfs"
(cd "${work}/bundle" && runc spec)
jq '.process.args = ["/bin/true"] | .process.terminal = false | .root.readonly = false' \
  "${work}/bundle/config.json" >"${work}/config.json" && mv "${work}/config.json" "${work}/bundle/config.json"
rootfs="${work}/bundle/rootfs"

# A running container for the exec benchmarks.
container="$("${klee}" run -d --network host --name kl-bench-exec base /bin/sleep 100000 | sed -n 1p)"
jid="$("${klee}" container ls | awk -v n=kl-bench-exec '$2 == n {print $NF}')"
[[ "${jid}" =~ ^[0-9]+$ ]] || { echo "error: no JID for the exec container" >&2; exit 1; }
keeper="$(awk '/^PPid:/ {print $2}' "/proc/${jid}/status")"
started="$("${klee}" create --network host --name kl-bench-start base /bin/true | sed -n 1p)"

hyperfine --warmup 3 --runs "${runs}" -N --export-markdown "${work}/times.md" --export-json "${work}/times.json" \
  -n floor-run "unshare --mount --uts --ipc --net --pid --fork chroot ${rootfs} /bin/true" \
  -n runc-run "runc --root ${work}/runc run --bundle ${work}/bundle kl-bench-runc" \
  -n klee-run "${klee} run --network host base /bin/true" \
  -n klee-start "${klee} start -a kl-bench-start" \
  -n floor-exec "nsenter --target ${jid} --mount --uts --ipc --net --pid --root --wd /bin/true" \
  -n klee-exec "${klee} exec kl-bench-exec /bin/true"

rss() { awk '/^VmRSS:/ {print $2 " " $3}' "/proc/$1/status"; }
kleened_pid="$(cat /var/run/kleened.pid 2>/dev/null || true)"
keeper_rss="$(rss "${keeper}")"
daemon_rss="$( [[ -n "${kleened_pid}" ]] && rss "${kleened_pid}" || echo "n/a")"

# Remove the containers klee-run created (stopped, named by kleene), not kl-bench-exec.
"${klee}" container prune -f >/dev/null

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "${work}/times.json"; }
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN {printf "%.2f", a / b}'; }

mkdir -p "${out_dir}"
{
  echo "# Container start and exec — ${stamp}"
  echo
  echo "Host: $(uname -srm), $(nproc) CPUs; kleene $(git -C "${repo}" rev-parse --short HEAD);"
  echo "runc $(runc --version | head -n 1 | awk '{print $3}'); ${runs} runs each, 3 warm-up runs."
  echo
  cat "${work}/times.md"
  echo
  echo "| ratio (medians) | value | target |"
  echo "|---|---|---|"
  echo "| klee run / runc run | $(ratio klee-run runc-run) | ≤ 1.0 |"
  echo "| klee start -a / runc run | $(ratio klee-start runc-run) | — |"
  echo "| klee run / floor | $(ratio klee-run floor-run) | — |"
  echo "| klee exec / floor exec | $(ratio klee-exec floor-exec) | ≤ 3.0 |"
  echo
  echo "| memory | RSS | target |"
  echo "|---|---|---|"
  echo "| keeper of a running container | ${keeper_rss} | ≤ 1 MiB |"
  echo "| kleened | ${daemon_rss} | — |"
} >"${report}"
cat "${report}"
