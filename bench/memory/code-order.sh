#!/usr/bin/env bash
# Regenerates core/daemon/code-order.txt, the order in which a Release link lays out kleened's
# functions: those that an idle kleened has run first, in the order of their first call.
#
# Why: the kernel maps a binary's code into a process a folio (and a fault-around window) at a
# time, so kleened's RSS grows with the number of pages its running code is spread over, not
# with the size of that code. Functions are in sections of their own in Release builds
# (-ffunction-sections); gold's --section-ordering-file puts the listed ones first, together.
#
# How: builds kleened and its plugins with -finstrument-functions and bench/memory/call_log.c
# (each function's first call, logged by a process named kleened), runs bench/memory/run.sh
# with it (start, an image import, a run, a build, a bridge network with a running container),
# and turns the logged addresses into section names with nm. The builds are under a temp dir
# (BUILD overrides it and keeps it): the instrumented one and a plain Release one (the names to
# keep); INSTRUMENTED_DIR and RELEASE_DIR point at existing build directories instead.
# Run as root, like bench/memory/run.sh; two builds of kleened, ~30 min on 2 cores.
#
# A stale list costs only memory, never correctness: a function it does not name is laid out
# after the listed ones, and a name that no longer exists is ignored. Regenerate it when the
# code that start-up, an import or a build runs changed much (bench/memory/run.sh shows the
# kleened mapping growing).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fail() {
  echo "error: $*" >&2
  exit 1
}
[[ ${EUID} -eq 0 ]] || fail "run as root (bench/memory/run.sh needs it)"
for tool in cmake ninja nm cc; do
  command -v "${tool}" >/dev/null || fail "${tool} not found"
done

keep="${BUILD:+1}"
work="${BUILD:-$(mktemp -d /tmp/kl-code-order.XXXXXX)}"
mkdir -p "${work}"
cleanup() { [[ -n "${keep}" ]] || rm -rf --one-file-system "${work}"; }
trap cleanup EXIT

cc -O2 -fPIC -c "${repo}/bench/memory/call_log.c" -o "${work}/call_log.o"
build="${INSTRUMENTED_DIR:-${work}/build}"
hook="${work}/call_log.o"
cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKLEENE_BUILD_TESTS=OFF \
  -DKLEENE_CODE_ORDER=OFF -DCMAKE_CXX_FLAGS=-finstrument-functions \
  -DCMAKE_EXE_LINKER_FLAGS="${hook}" -DCMAKE_SHARED_LINKER_FLAGS="${hook}" \
  -DCMAKE_MODULE_LINKER_FLAGS="${hook}" >"${work}/configure.log"
cmake --build "${build}" --target kleened plugins/builder.so plugins/storage-zfs.so \
  plugins/net-host.so plugins/net-loopback.so plugins/net-vnet.so
# The Release kleened the list is for, laid out without it: the list keeps only the names it
# has (most of the instrumented build's functions are inlined there) and adds its clones of
# them (foo.isra.0, foo.constprop.0, foo.part.0; not the .cold parts, which GCC puts apart).
release="${RELEASE_DIR:-${work}/release}"
cmake -S "${repo}" -B "${release}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKLEENE_BUILD_TESTS=OFF \
  -DKLEENE_CODE_ORDER=OFF >"${work}/configure-release.log"
cmake --build "${release}" --target kleened klee kleene-keeper

rm -f "${work}"/calls.*
KLEENE_CALL_LOG="${work}/calls" KLEENED="${build}/core/daemon/kleened" KLEE="${release}/cli/klee" \
  KEEPER="${release}/core/runtime/keeper/kleene-keeper" PLUGIN_DIR="${build}/plugins" \
  OUT="${work}/memory" bash "${repo}/bench/memory/run.sh" >/dev/null

# Every process named kleened logged: `kleened init`, the launcher of `kleened --daemon` (up
# to its fork), the daemon (the longest log: first), and children between fork and exec.
mapfile -t logs < <(wc -l "${work}"/calls.* | awk '$2 != "total" { print $1, $2 }' |
  sort -k1,1nr | awk '{ print $2 }')
((${#logs[@]})) || fail "no call log was written (was kleened built with the hook?)"
nm --defined-only "${build}/core/daemon/kleened" |
  awk 'NR == FNR { if ($2 ~ /^[tTwW]$/) name[$1] = $3; next }
       ($1 in name) && !(name[$1] in done) { done[name[$1]] = 1; print name[$1] }' \
    - "${logs[@]}" >"${work}/called"
out="${repo}/core/daemon/code-order.txt"
nm --defined-only "${release}/core/daemon/kleened" |
  awk 'NR == FNR { if ($2 ~ /^[tTwW]$/ && $3 !~ /\.cold$/) {
                     base = $3; sub(/\.(isra|constprop|part)\..*$/, "", base)
                     names[base] = names[base] " " $3 }
                   next }
       ($1 in names) { n = split(names[$1], list, " ")
                       for (i = 1; i <= n; i++)
                         if (!(list[i] in done)) { done[list[i]] = 1; print ".text." list[i] } }' \
    - "${work}/called" >"${out}.new"
mv "${out}.new" "${out}"
echo "${out}: $(wc -l <"${out}") of the $(wc -l <"${work}/called") functions called"
