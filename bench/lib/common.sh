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
