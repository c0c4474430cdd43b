// The sandbox: what turns a process into a jailed one. Used by the keeper (core/runtime/keeper)
// in the container's init and in every execution's process; kleened itself uses env.hpp only.
// Nothing here allocates after exec_process() starts dropping privileges. Everything that takes
// a path from the image or the user resolves it inside the container root, never following a
// symlink out of it (openat2 RESOLVE_IN_ROOT).
// Owner: sandbox (core/runtime/sandbox/*.cpp, library kleene_sandbox).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <string>
#include <string_view>
#include <vector>

#include "runtime/spec.hpp"
#include "util/error.hpp"

namespace kleene::runtime::sandbox {

// In the container's init, freshly cloned into new mount (and pid, uts, ipc, cgroup, net)
// namespaces and before pivot_root: make every mount private, bind the rootfs on itself, bind
// spec.mounts (targets created inside the root, :ro as read-only bind remounts), mount /proc,
// a minimal /dev (null zero full random urandom tty, pts with ptmx, shm, fd/stdin/stdout/stderr
// links) unless params.devfs is false, mask and make read-only the OCI default /proc and /sys
// paths, mount /sys read-only, then pivot_root into the rootfs and detach the old root.
// On return the process's root and cwd are the container's root.
Result<void> enter_rootfs(const ContainerSpec& spec);

// The hostname (spec.hostname, else spec.id) in the new UTS namespace.
Result<void> set_hostname(const ContainerSpec& spec);

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups from the container's /etc/group
  std::string name = "root";
  std::string home = "/";
  std::string shell = "/bin/sh";
};

// Resolve "", "name", "uid", "uid:gid", "name:group" against the container's /etc/passwd and
// /etc/group. Call with the container root as "/" (after pivot_root or setns + chroot). A
// numeric uid not in /etc/passwd is allowed (gid = uid's gid or 0); an unknown name is ENOENT
// "unable to find user NAME: no matching entries in passwd file" (Docker's message).
Result<Credentials> resolve_user(std::string_view user);

// The environment of an execution: with clean (exec.clean), HOME, USER, SHELL, PATH and TERM
// (tty only) defaults first, then `env` (later entries win per key); without clean, `env`
// over the inherited environment `inherited`.
std::vector<std::string> final_env(const std::vector<std::string>& env, const Credentials& who,
                                   bool clean, bool tty,
                                   const std::vector<std::string>& inherited = {});

// The last steps before execve, in the execution's process (already in the container's
// namespaces, root and cgroup): mark every fd above 2 close-on-exec (so a failed exec can still
// be reported through the caller's pipe; nothing reaches the program), setgroups/setgid/setuid, the
// capability allow-list (bounding, permitted, effective; inheritable and ambient empty) plus what
// params allow (raw_sockets: NET_RAW; mlock: IPC_LOCK; chflags: LINUX_IMMUTABLE), no_new_privs, the
// seccomp allow-list for params, chdir(workdir), execvpe. Returns only on failure, with the
// error (e.g. "exec /bin/x: No such file or directory", code ENOENT -> exit 127, EACCES -> 126).
Error exec_process(const ProcessSpec& process, const Credentials& who, const JailParams& params);

// For kleened's own helpers (the archive extractor, image/create/extract.hpp): keep only the
// capabilities in `mask` (a bit per CAP_* number) in the bounding, permitted and effective sets
// (inheritable and ambient empty), then set no_new_privs.
Result<void> keep_only_capabilities(std::uint64_t mask);

// For the archive extractor, after keep_only_capabilities (no_new_privs): a seccomp filter that
// allows everything but running programs, sockets, signals to other processes, other
// processes' memory, namespaces, mounts and the kernel interfaces the container policy denies
// (EPERM; gen_seccomp.cpp, kExtractDenied).
Result<void> install_extract_seccomp();

// The capability allow-list as names (CAP_CHOWN, ...), for docs and tests.
std::vector<std::string> default_capabilities();

}  // namespace kleene::runtime::sandbox
