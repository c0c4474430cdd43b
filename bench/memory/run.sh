#!/usr/bin/env bash
# kleened's memory, mapping by mapping, at the moments a user sees it idle: started, after an
# image import, after a container ran, after a build, and with a bridge network that has a
# running container. For each state: VmRSS, Pss and the RSS of each mapping (the shared objects
# and the heap) in KiB, so a change says where it went. Writes bench/results/memory-<date>.md
# and .json (OUT overrides the stem; SMAPS_DIR, if set, gets a copy of /proc/<pid>/smaps of
# each state).
#
# A kleened of its own runs inside network namespace kl-bench-mem, its state on tmpfs and its
# datasets on a throw-away file-backed pool (as bench/compare/run.sh does); all of it is removed
# on exit, and the script fails if anything is left. kleened gives its freed heap back 1 s after
# its last request, so each state is read 1.5 s after it was reached.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "${repo}/bench/lib/common.sh"
name=kl-bench-mem
ns="${name}"
pool="${name}"
out="${OUT:-${repo}/bench/results/memory-$(date -u +%Y-%m-%d)}" # + .md, .json

[[ ${EUID} -eq 0 ]] || fail "run as root (namespaces, cgroups, ZFS)"
for bin in "${kleened}" "${klee}" "${keeper}"; do
  [[ -x "${bin}" ]] || fail "${bin} not found or not executable (set KLEENED, KLEE, KEEPER)"
done
for tool in jq awk; do
  command -v "${tool}" >/dev/null || fail "${tool} not found (apt-get install ${tool})"
done

# State on tmpfs; everything is removed on exit, in the reverse order of its making.
begin_bench_work "${ns}" "${pool}" "${name}"
made_ns="" made_pool="" made_daemon=""
k() { "${klee}" --host "http://${sock}" "$@"; }

cleanup() {
  set +e
  if [[ -n "${made_daemon}" ]]; then
    mapfile -t ids < <(k container ls -a 2>/dev/null | awk 'NR > 2 && $1 ~ /^[0-9a-f]+$/ {print $1}')
    ((${#ids[@]})) && k container rm -f "${ids[@]}" >/dev/null 2>&1
    k network rm kl-bench-membr >/dev/null 2>&1
    stop_kleened "${pidfile}"
  fi
  finish_bench_kleened "${ns}" "${pool}" "${work}" "${name}"
}
trap cleanup EXIT

start_bench_kleened "${ns}" "${pool}" "${work}" 2G bench/memory/run.sh
kpid="$(cat "${pidfile}")"

states=()
# Reads kleened's memory now as state $1: {state, rss, pss, maps: {mapping: KiB}}.
snapshot() {
  sleep 1.5
  local state=$1
  awk -v state="${state}" '
    /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; sub(/.*\//, "", name) }
    /^Rss:/ { rss[name] += $2; total += $2 }
    /^Pss:/ { pss += $2 }
    END {
      printf "{\"state\": \"%s\", \"rss\": %d, \"pss\": %d, \"maps\": {", state, total, pss
      sep = ""
      for (n in rss) if (rss[n] > 0) { printf "%s\"%s\": %d", sep, n, rss[n]; sep = ", " }
      printf "}}\n"
    }' "/proc/${kpid}/smaps" >"${work}/state-${#states[@]}.json"
  [[ -z "${SMAPS_DIR:-}" ]] || cp "/proc/${kpid}/smaps" "${SMAPS_DIR}/smaps-${#states[@]}"
  states+=("${work}/state-${#states[@]}.json")
}

snapshot "started"
rootfs_tar="${work}/rootfs.tar.gz"
bash "${repo}/tests/fixtures/make-busybox-rootfs" "${rootfs_tar}" >/dev/null
k image create -t kl-bench-mem-img fetch "file://${rootfs_tar}" >/dev/null
snapshot "one image imported"
k run -l disabled kl-bench-mem-img /bin/true >/dev/null
snapshot "a container ran"
mkdir "${work}/ctx"
printf 'FROM kl-bench-mem-img\nRUN echo built > /built\n' >"${work}/ctx/Dockerfile"
k image build -t kl-bench-mem-built "${work}/ctx" >/dev/null
snapshot "an image built"
k network create -t bridge --subnet 10.79.1.0/24 -i kl-bench-mb0 kl-bench-membr >/dev/null
k run -d --name kl-bench-mem-c -l vnet -n kl-bench-membr kl-bench-mem-img /bin/sleep 600 >/dev/null
snapshot "a bridge network, a container running on it"

jq -s --arg commit "$(git -C "${repo}" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --arg kleened "${kleened}" '{date: (now | todate), commit: $commit, kleened: $kleened,
  states: .}' "${states[@]}" >"${out}.json"
{
  echo "# kleened's memory by mapping ($(date -u +%Y-%m-%d), $(jq -r .commit "${out}.json"))"
  echo
  echo "RSS in KiB of each mapping that has any, per state (\`bench/memory/run.sh\`; kleened"
  echo "\`${kleened}\`). The issue 7 target: idle RSS ≤ 10 MiB (10 240 KiB)."
  echo
  jq -r '
    (.states | map(.state)) as $names |
    ([.states[].maps | keys[]] | unique) as $maps |
    "| mapping | " + ($names | join(" | ")) + " |",
    "|---|" + ($names | map("---:") | join("|")) + "|",
    "| **VmRSS** | " + (.states | map("**\(.rss)**") | join(" | ")) + " |",
    "| Pss | " + (.states | map("\(.pss)") | join(" | ")) + " |",
    ($maps | map(. as $m | {m: $m, max: ([$root.states[].maps[$m] // 0] | max)})
      | sort_by(-.max) | .[] | .m as $m |
      "| \($m) | " + ([$root.states[] | (.maps[$m] // 0) | tostring] | join(" | ")) + " |")
  ' --argjson root "$(cat "${out}.json")" "${out}.json"
} >"${out}.md"
cat "${out}.md"
