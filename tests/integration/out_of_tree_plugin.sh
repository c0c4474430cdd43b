#!/usr/bin/env bash
# The out-of-tree plugin test: install the build into a temp prefix, build examples/net-example
# against that prefix only (a copy of its sources, so nothing in the source tree is reachable),
# start the *installed* kleened with the installed plugins plus the example's build dir, and
# check that the *installed* klee lists the example next to the five built-in plugins.
#
# usage: out_of_tree_plugin.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build_dir="$(cd "$1" && pwd)"
source_dir="$(cd "$2" && pwd)"

work="$(mktemp -d /tmp/kleene-oot-XXXXXX)"
daemon_pid=""
cleanup() {
  local status=$?
  if [[ -n "${daemon_pid}" ]] && kill -0 "${daemon_pid}" 2>/dev/null; then
    kill -TERM "${daemon_pid}"
    wait "${daemon_pid}" || true
  fi
  if ((status != 0)) && [[ -f "${work}/kleened.stderr" ]]; then
    echo "--- kleened stderr ---" >&2
    tail -n 50 "${work}/kleened.stderr" >&2
  fi
  rm -rf "${work}"
  exit "${status}"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

echo "== install ${build_dir} into ${work}/root"
# DESTDIR rather than --prefix: the plugin directory is an absolute install path.
DESTDIR="${work}/root" cmake --install "${build_dir}" >"${work}/install.log" ||
  { cat "${work}/install.log" >&2; fail "cmake --install"; }
prefix="${work}/root$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "${build_dir}/CMakeCache.txt")"
prefix="${prefix%/}"
[[ -x "${prefix}/bin/kleened" ]] || fail "no kleened installed in ${prefix}/bin"
[[ -x "${prefix}/bin/klee" ]] || fail "no klee installed in ${prefix}/bin"
plugin_dir="$(dirname "$(find "${prefix}" -name 'net-vnet.so' -print -quit)")"
[[ -f "${plugin_dir}/net-vnet.so" ]] || fail "no installed plugins under ${prefix}"
[[ -f "${prefix}/include/kleene/plugin/abi.h" ]] || fail "abi.h not installed"

echo "== build examples/net-example against ${prefix} only"
cp -r "${source_dir}/examples/net-example" "${work}/net-example"
example_build="${work}/net-example-build"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "${work}/net-example" -B "${example_build}" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="${prefix}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)"
cmake --build "${example_build}"

# The SDK must have come from the temp prefix, never from the source tree or /usr/local.
sdk_dir="$(sed -n 's/^KleenePlugin_DIR:[A-Z]*=//p' "${example_build}/CMakeCache.txt")"
[[ "${sdk_dir}" == "${prefix}"/* ]] || fail "KleenePlugin found at '${sdk_dir}', not in ${prefix}"
if grep -rqF "${source_dir}/core" "${example_build}" --include='*.ninja' --include='Makefile' \
  --include='*.make' --include='flags.make' --include='compile_commands.json'; then
  fail "the example build refers to the source tree (${source_dir}/core)"
fi
example_so="$(find "${example_build}" -name '*.so' -not -path '*/CMakeFiles/*' -print -quit)"
[[ -n "${example_so}" ]] || fail "the example build produced no .so"

echo "== start the installed kleened with ${plugin_dir} and $(dirname "${example_so}")"
cat >"${work}/kleened.yaml" <<YAML
kleene_root: kl-oot-nopool/kleene
api_listening_sockets:
  - address: http://${work}/kleened.sock
enable_logging: true
log_level: debug
log_file: ${work}/kleened.log
plugin_dirs:
  - ${plugin_dir}
  - $(dirname "${example_so}")
run_dir: ${work}/run
pidfile: ${work}/kleened.pid
metadata_db: ${work}/db/metadata.sqlite
# This test is about plugins: storage must neither start zfs-fuse nor import a pool of the host.
plugins:
  zfs:
    zfs_fuse: ""
    pool_file: ${work}/no-pool.img
YAML
# The ready line arrives through a FIFO: the read blocks until kleened listens (or dies,
# closing its end), bounded by timeout; no sleeping.
mkfifo "${work}/ready"
"${prefix}/bin/kleened" --foreground --config "${work}/kleened.yaml" --ready-fd 3 \
  3>"${work}/ready" 2>"${work}/kleened.stderr" &
daemon_pid=$!
ready="$(timeout 20 head -n 1 "${work}/ready" || true)"
[[ "${ready}" == *'"listening"'* ]] || fail "kleened did not start: '${ready}'"
echo "ready: ${ready}"

echo "== installed klee plugin ls"
out="$(HOME="${work}" "${prefix}/bin/klee" --host "http://${work}/kleened.sock" plugin ls)" ||
  fail "klee plugin ls failed"
echo "${out}"
for name in example host ipnet vnet zfs builder; do
  awk '{print $1}' <<<"${out}" | grep -qx "${name}" || fail "plugin '${name}' not listed"
done

echo "== stop kleened"
kill -TERM "${daemon_pid}"
status=0
wait "${daemon_pid}" || status=$?
daemon_pid=""
((status == 0)) || fail "kleened exited with ${status} on SIGTERM"
[[ ! -e "${work}/kleened.sock" ]] || fail "the socket survived SIGTERM"
echo "PASS"
