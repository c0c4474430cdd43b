#!/usr/bin/env bash
# Image builds: `klee build` of a 10-step Dockerfile in three cases, each RUNS times:
#   cold       --no-cache: every step runs
#   unchanged  the same Dockerfile and context again: every step a cache hit (target ≤ 1 s)
#   last-run   the last RUN step changed before each build: the steps before it are cache hits,
#              that RUN runs, and the CMD after it
# with the median, min and max of each; beside it `docker build` of the same Dockerfile on the
# same busybox rootfs, only if a docker engine is running already (`docker info` answers): this
# script never installs or starts one.
#
# The bench never uses the host's kleened or pool: it starts its own kleened inside a network
# namespace it creates (kl-bench-build; a build container's default driver is `host`, which is
# then that namespace), with its state on tmpfs and its datasets on a throw-away file-backed
# pool kl-bench-build (1 GB sparse, on tmpfs, kept out of zpool.cache) made by `kleened init`,
# and removes all of it on exit (kleened, pool, namespace, files), then checks that nothing named
# kl-bench-build is left. Where the kernel has no ZFS and no zfs-fuse answers, `kleened init`
# starts zfs-fuse (which imports the pools of its zpool.cache, the host's zroot among them);
# the bench takes the test suite's lock for it (/tmp/kleene-test-zfs.lock) and stops it on exit
# unless pools other than those it imported by itself were made on it meanwhile.
#   usage: sudo bench/build/run.sh [RUNS]        (RUNS: default 5)
# Binaries: KLEENED, KLEE, KEEPER, PLUGIN_DIR (default: the build tree build/ if it has them,
# else the installed ones). Writes bench/results/build-<date>.md; KLEENED_LOG=PATH keeps the
# bench kleened's log there.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${1:-5}"
# shellcheck source=bench/lib/common.sh
source "${repo}/bench/lib/common.sh"
out_dir="${repo}/bench/results"
stamp="$(date -u +%Y-%m-%d)"
report="${out_dir}/build-${stamp}.md"
name=kl-bench-build
ns="${name}"
pool="${name}"
cases=(cold unchanged last-run)

[[ ${EUID} -eq 0 ]] || fail "run as root (network namespaces, ZFS)"
[[ "${runs}" =~ ^[1-9][0-9]*$ ]] || fail "RUNS must be a positive number, not '${runs}'"
for bin in "${kleened}" "${klee}" "${keeper}"; do
  [[ -x "${bin}" ]] || fail "${bin} not found or not executable (set KLEENED, KLEE, KEEPER)"
done
for plugin in storage-zfs builder; do
  [[ -f "${plugin_dir}/${plugin}.so" ]] || fail "${plugin_dir}/${plugin}.so not found (set PLUGIN_DIR)"
done
command -v nsenter >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux >/dev/null

# docker only if an engine answers already.
docker=""
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker=docker
  docker image inspect "${name}-base" >/dev/null 2>&1 &&
    fail "docker image ${name}-base exists already (a previous run did not clean up): docker rmi ${name}-base"
fi

# State on tmpfs; everything is removed on exit, in the reverse order of its making.
begin_bench_work "${ns}" "${pool}" "${name}"
made_ns=""
made_daemon=""
made_pool=""
made_docker=""
k() { "${klee}" --host "http://${sock}" "$@"; }

cleanup() {
  set +e
  if [[ -n "${made_docker}" ]]; then
    # The bench's images carry its label; the base image was imported under its name.
    docker image prune -af --filter "label=${name}=1" >/dev/null 2>&1
    docker rmi -f "${name}" "${name}-base" >/dev/null 2>&1
  fi
  if [[ -n "${made_daemon}" ]]; then
    stop_kleened "${pidfile}"
  fi
  finish_bench_kleened "${ns}" "${pool}" "${work}" "${name}"
}
trap cleanup EXIT

start_bench_kleened "${ns}" "${pool}" "${work}" 1G bench/build/run.sh

bash "${repo}/tests/fixtures/make-busybox-rootfs" "${work}/rootfs.tar.gz" >/dev/null
k image create -t base fetch "file://${work}/rootfs.tar.gz" >/dev/null

# The context: a few files to COPY, and a Dockerfile of 10 steps whose last RUN (step 9) has a
# marker the last-run case replaces before each build.
ctx="${work}/ctx"
mkdir -p "${ctx}/conf"
head -c 65536 /dev/urandom | base64 >"${ctx}/data.txt"
printf 'first\n' >"${ctx}/a.txt"
printf 'second\n' >"${ctx}/b.txt"
for i in 1 2 3 4; do printf 'key%s=value%s\n' "${i}" "${i}" >"${ctx}/conf/${i}.conf"; done
dockerfile() { # FROM image, marker of the last RUN
  cat <<EOF
FROM $1
ENV BENCH_STAGE=build GREETING="hello from the build bench"
WORKDIR /app
COPY a.txt b.txt data.txt ./
COPY conf/ ./conf/
RUN echo "\$GREETING" > greeting.txt && cat a.txt b.txt > ab.txt
RUN mkdir -p gen && for i in 1 2 3 4 5 6 7 8 9 10; do echo "\$i" > "gen/\$i"; done
RUN cat conf/*.conf | sort > conf.all && wc -c data.txt > data.size
RUN echo "$2" > /app/last.txt
CMD ["cat", "/app/last.txt"]
EOF
}
dockerfile base initial >"${ctx}/Dockerfile"
[[ "$(grep -c . "${ctx}/Dockerfile")" -eq 10 ]] || fail "the Dockerfile does not have 10 steps"

# One build, timed in ms; its output in ${work}/last.out; fails the bench if the build fails.
timed() {
  local t0 t1
  t0="$(date +%s%N)"
  if ! "$@" >"${work}/last.out" 2>&1; then
    tail -n 30 "${work}/last.out" >&2
    fail "build failed: $*"
  fi
  t1="$(date +%s%N)"
  awk -v a="${t0}" -v b="${t1}" 'BEGIN {printf "%.1f\n", (b - a) / 1e6}'
}
# A sample file holds one time a line.
stats() { # file -> "median min max"
  sort -n "$1" | awk '{v[NR] = $1} END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.0f %.0f %.0f", m, v[1], v[NR]}'
}

# The three cases with the build command after `--` (the context is added last), the
# Dockerfile FROM `from-image`; times in ${work}/<engine>-<case>.ms, the last output of each
# case in ${work}/<engine>-<case>.out.
bench_engine() { # engine from-image -- build command...
  local engine="$1" from="$2" i
  shift 3
  local -a cmd=("$@")
  : >"${work}/${engine}-cold.ms"
  : >"${work}/${engine}-unchanged.ms"
  : >"${work}/${engine}-last-run.ms"
  dockerfile "${from}" initial >"${ctx}/Dockerfile"
  for ((i = 1; i <= runs; i++)); do
    timed "${cmd[@]}" --no-cache "${ctx}" >>"${work}/${engine}-cold.ms"
  done
  cp "${work}/last.out" "${work}/${engine}-cold.out"
  # The image of the last cold build is in the cache: every build from here on hits it.
  for ((i = 1; i <= runs; i++)); do
    timed "${cmd[@]}" "${ctx}" >>"${work}/${engine}-unchanged.ms"
  done
  cp "${work}/last.out" "${work}/${engine}-unchanged.out"
  for ((i = 1; i <= runs; i++)); do
    dockerfile "${from}" "changed ${i} $(date +%s%N)" >"${ctx}/Dockerfile"
    timed "${cmd[@]}" "${ctx}" >>"${work}/${engine}-last-run.ms"
  done
  cp "${work}/last.out" "${work}/${engine}-last-run.out"
  dockerfile "${from}" initial >"${ctx}/Dockerfile"
}

echo "klee build: ${runs} runs of each case" >&2
bench_engine klee base -- "${klee}" --host "http://${sock}" build -t "${name}"

# Where the time of a build goes: the time at which each output line arrives, for one build of
# each case.
timeline() {
  local t0 t1 line
  t0="$(date +%s%N)"
  "$@" 2>&1 | while IFS= read -r line; do
    t1="$(date +%s%N)"
    printf '%5d ms  %s\n' "$(((t1 - t0) / 1000000))" "${line}"
  done
  t1="$(date +%s%N)"
  printf '%5d ms  (klee exited)\n' "$(((t1 - t0) / 1000000))"
}
kb=("${klee}" --host "http://${sock}" build -t "${name}")
timeline "${kb[@]}" --no-cache "${ctx}" >"${work}/timeline-cold.txt"
timeline "${kb[@]}" "${ctx}" >"${work}/timeline-unchanged.txt"
dockerfile base "timeline $(date +%s%N)" >"${ctx}/Dockerfile"
timeline "${kb[@]}" "${ctx}" >"${work}/timeline-last-run.txt"

# What the image does: the last build's CMD prints its marker.
k run --name "${name}-check" --network host "${name}" >"${work}/run.out" 2>&1 || true
# (the timeline's last-run build left its marker)
k container rm -f "${name}-check" >/dev/null 2>&1 || true
image_check="$(grep -c '^timeline ' "${work}/run.out" || true)"

docker_line="docker: not available"
if [[ -n "${docker}" ]]; then
  echo "docker build: ${runs} runs of each case" >&2
  made_docker=1
  docker import "${work}/rootfs.tar.gz" "${name}-base" >/dev/null
  bench_engine docker "${name}-base" -- docker build --label "${name}=1" -t "${name}"
  docker_line="docker: $(docker version --format '{{.Server.Version}}' 2>/dev/null), $(docker info --format '{{.Driver}}' 2>/dev/null) storage driver"
fi
echo "${docker_line}" >&2

# Kleene's and docker's legacy builder's "Using cache", BuildKit's "CACHED".
hits() { grep -cE 'Using cache|CACHED' "$1" || true; }
verdict() { awk -v v="$1" 'BEGIN {print (v <= 1000) ? "met" : "missed"}'; }

mkdir -p "${out_dir}"
{
  echo "# Image build — ${stamp}"
  echo
  echo "Host: $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); kleene $(git -C "${repo}" rev-parse --short HEAD);"
  echo "a private kleened in network namespace ${ns} on a throw-away pool (zfs-fuse unless /dev/zfs); ${runs} runs of each case;"
  echo "times are the wall time of the whole \`klee build\` / \`docker build\` command, in ms."
  echo "${docker_line}."
  echo
  echo "| case | engine | median | min | max | cache hits in the last build |"
  echo "|---|---|---:|---:|---:|---:|"
  for c in "${cases[@]}"; do
    for e in klee ${docker}; do
      read -r med min max <<<"$(stats "${work}/${e}-${c}.ms")"
      echo "| ${c} | ${e} | ${med} | ${min} | ${max} | $(hits "${work}/${e}-${c}.out") |"
    done
  done
  read -r med _ _ <<<"$(stats "${work}/klee-unchanged.ms")"
  echo
  echo "Unchanged rebuild (every step from the cache): median ${med} ms, target ≤ 1 s: $(verdict "${med}")."
  echo "The image of the last build runs its CMD: $([[ "${image_check}" -ge 1 ]] && echo yes || echo "no ($(head -c 200 "${work}/run.out"))")."
  echo
  echo "The Dockerfile (the last RUN's marker is replaced before each last-run build):"
  echo
  echo '```dockerfile'
  cat "${ctx}/Dockerfile"
  echo '```'
  echo
  for c in "${cases[@]}"; do
    echo "One more ${c} \`klee build\` (run after the timed ones), with the time each line arrived:"
    echo
    echo '```'
    cat "${work}/timeline-${c}.txt"
    echo '```'
    echo
  done
} >"${report}"
cat "${report}"
