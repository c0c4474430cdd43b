# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the script that sources this
# Sourced by the bench scripts: where kleened, klee, the keeper and the plugins are. The build
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
