// Build-time generator: compiles the default seccomp policy with libseccomp, once per
// combination of the jail parameters that change it (allow.raw_sockets, allow.sysvipc,
// allow.mlock), and writes the BPF programs as C++ arrays. The sandbox installs one of them
// with seccomp(2), so the static keeper needs no libseccomp.
//   usage: kleene_gen_seccomp OUT.inc
//
// Policy (docs/jail-parameters.md): an allow-list modelled on Docker's default profile.
// Syscalls not listed fail with ENOSYS (so libc falls back from syscalls newer than this
// list, as from clone3); the dangerous ones listed in kDenied fail with EPERM.
#include <linux/filter.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

constexpr const char* kAllowed[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chroot",
    "clock_adjtime",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futex",
    "futex_requeue",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresuid",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mmap",
    "modify_ldt",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedsend",
    "mq_unlink",
    "mremap",
    "msync",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "process_vm_readv",
    "process_vm_writev",
    "pselect6",
    "ptrace",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "sendfile",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsuid",
    "setgid",
    "setgroups",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setxattr",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "socketpair",
    "splice",
    "stat",
    "statfs",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_settime",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_settime",
    "times",
    "tkill",
    "truncate",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "write",
    "writev",
};

// Denied with EPERM whatever the parameters (most also need a capability we never grant).
constexpr const char* kDenied[] = {
    "acct",
    "add_key",
    "bpf",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "migrate_pages",
    "mount",
    "mount_setattr",
    "move_mount",
    "move_pages",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pidfd_getfd",
    "pivot_root",
    "query_module",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setdomainname",
    "sethostname",
    "setns",
    "settimeofday",
    "swapoff",
    "swapon",
    "_sysctl",
    "syslog",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vhangup",
    "vm86",
    "vm86old",
};

constexpr const char* kSysvipc[] = {"shmget", "shmat",  "shmctl", "shmdt", "msgget",     "msgsnd",
                                    "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl"};
constexpr const char* kMlock[] = {"mlock", "mlock2", "mlockall", "munlock", "munlockall"};

constexpr scmp_datum_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                         CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP |
                                         CLONE_NEWTIME;

bool add(scmp_filter_ctx ctx, uint32_t action, const char* name,
         std::initializer_list<scmp_arg_cmp> args = {}) {
  const int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return true;  // unknown to this libseccomp: ENOSYS by default
  const int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                        args.size() == 0 ? nullptr : args.begin());
  if (rc != 0) std::fprintf(stderr, "gen_seccomp: rule for %s: error %d\n", name, rc);
  return rc == 0;
}

// SCMP_A0(...) and friends without their C compound literal (clang warns on it in C++).
constexpr scmp_arg_cmp arg(unsigned index, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  return {index, op, a, b};
}

// An always-true comparison: a conditional catch-all, so libseccomp keeps the more specific
// rules of the same syscall (an unconditional rule would replace them).
scmp_arg_cmp any_arg0() {
  return arg(0, SCMP_CMP_GE, 0);
}

bool build(scmp_filter_ctx ctx, bool raw_sockets, bool sysvipc, bool mlock) {
  bool ok = true;
  for (const char* name : kAllowed)
    ok &= add(ctx, SCMP_ACT_ALLOW, name);
  for (const char* name : kDenied)
    ok &= add(ctx, SCMP_ACT_ERRNO(EPERM), name);
  for (const char* name : kSysvipc)
    ok &= add(ctx, sysvipc ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM), name);
  for (const char* name : kMlock)
    ok &= add(ctx, mlock ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM), name);

  // clone: no new namespaces. clone3 hides its flags in memory: it stays out of the list and
  // fails with the default ENOSYS, so libc falls back to clone.
  ok &= add(ctx, SCMP_ACT_ALLOW, "clone", {arg(0, SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0)});
  ok &= add(ctx, SCMP_ACT_ERRNO(EPERM), "clone", {any_arg0()});

  // personality: the harmless personas only (Docker's list).
  for (scmp_datum_t persona : {0x0U, 0x8U, 0x20000U, 0x20008U, 0xffffffffU})
    ok &= add(ctx, SCMP_ACT_ALLOW, "personality", {arg(0, SCMP_CMP_EQ, persona)});
  ok &= add(ctx, SCMP_ACT_ERRNO(EPERM), "personality", {any_arg0()});

  // socket: ICMP "ping" sockets only with allow.raw_sockets (SOCK_RAW and AF_PACKET need
  // CAP_NET_RAW, which only allow.raw_sockets grants).
  if (!raw_sockets) {
    const scmp_datum_t type_mask = 0xf;  // without SOCK_NONBLOCK | SOCK_CLOEXEC
    ok &= add(ctx, SCMP_ACT_ERRNO(EPERM), "socket",
              {arg(0, SCMP_CMP_EQ, AF_INET), arg(1, SCMP_CMP_MASKED_EQ, type_mask, SOCK_DGRAM),
               arg(2, SCMP_CMP_EQ, IPPROTO_ICMP)});
    ok &= add(ctx, SCMP_ACT_ERRNO(EPERM), "socket",
              {arg(0, SCMP_CMP_EQ, AF_INET6), arg(1, SCMP_CMP_MASKED_EQ, type_mask, SOCK_DGRAM),
               arg(2, SCMP_CMP_EQ, IPPROTO_ICMPV6)});
    ok &= add(ctx, SCMP_ACT_ALLOW, "socket", {any_arg0()});
  } else {
    ok &= add(ctx, SCMP_ACT_ALLOW, "socket");
  }
  return ok;
}

// kleened's archive extractor (image/create/extract_process.cpp): everything is allowed but
// what a parser bug could use to leave the process: running programs, sockets, signals to
// other processes (it runs as root, as kleened does), other processes' memory, namespaces and
// mounts, and the kernel interfaces the container policy denies too (kDenied). EPERM.
constexpr const char* kExtractDenied[] = {
    "accept",
    "accept4",
    "bind",
    "chroot",
    "connect",
    "execve",
    "execveat",
    "kill",
    "listen",
    "memfd_secret",
    "personality",
    "pidfd_open",
    "pidfd_send_signal",
    "process_madvise",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "socket",
    "socketpair",
    "tgkill",
    "tkill",
};

bool build_extract(scmp_filter_ctx ctx) {
  bool ok = true;
  for (const char* name : kDenied)
    ok &= add(ctx, SCMP_ACT_ERRNO(EPERM), name);
  for (const char* name : kExtractDenied)
    ok &= add(ctx, SCMP_ACT_ERRNO(EPERM), name);
  // Threads may be made (libc, a decompressor), namespaces not; clone3 fails with ENOSYS, so
  // libc falls back to clone, whose flags the filter can see.
  for (scmp_datum_t flag = 1; flag != 0 && flag <= kNamespaceFlags; flag <<= 1) {
    if ((kNamespaceFlags & flag) != 0)
      ok &= add(ctx, SCMP_ACT_ERRNO(EPERM), "clone", {arg(0, SCMP_CMP_MASKED_EQ, flag, flag)});
  }
  ok &= add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3");
  return ok;
}

// The syscalls as a binary tree (libseccomp >= 2.5), not a list. Installing a filter costs the
// kernel a run of it for every syscall number (the cache of always-allowed syscalls): with the
// ~420-instruction list that was 295 us per container start and per exec, and a process paid up
// to the whole list on each syscall; with the tree each run is a few comparisons.
bool optimize(scmp_filter_ctx ctx) {
  return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) == 0;
}

bool export_bpf(scmp_filter_ctx ctx, std::vector<unsigned char>& out) {
  std::FILE* tmp = std::tmpfile();
  if (tmp == nullptr) return false;
  const bool ok = seccomp_export_bpf(ctx, fileno(tmp)) == 0;
  std::rewind(tmp);
  int c;
  while (ok && (c = std::fgetc(tmp)) != EOF)
    out.push_back(static_cast<unsigned char>(c));
  std::fclose(tmp);
  return ok && !out.empty() && out.size() % sizeof(sock_filter) == 0;
}

// A BPF program as a C++ array definition named `name`.
std::string bpf_array(const std::string& name, const std::vector<unsigned char>& bpf) {
  std::string text = "inline constexpr sock_filter " + name + "[] = {\n";
  for (std::size_t i = 0; i < bpf.size(); i += sizeof(sock_filter)) {
    sock_filter insn;
    std::memcpy(&insn, bpf.data() + i, sizeof insn);
    char line[80];
    std::snprintf(line, sizeof line, "    {0x%04x, %u, %u, 0x%08xU},\n", insn.code, insn.jt,
                  insn.jf, insn.k);
    text += line;
  }
  return text + "};\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.inc\n", argv[0]);
    return 2;
  }
  std::string text =
      "// Generated by kleene_gen_seccomp (core/runtime/sandbox/gen_seccomp.cpp). Do not edit.\n"
      "// Index: raw_sockets | sysvipc << 1 | mlock << 2.\n";
  for (unsigned index = 0; index < 8; ++index) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
    std::vector<unsigned char> bpf;
    if (ctx == nullptr || !optimize(ctx) || !build(ctx, index & 1, index & 2, index & 4) ||
        !export_bpf(ctx, bpf)) {
      std::fprintf(stderr, "gen_seccomp: cannot build filter %u\n", index);
      return 1;
    }
    seccomp_release(ctx);
    text += bpf_array("kSeccompFilter" + std::to_string(index), bpf);
  }
  text += "inline constexpr SeccompProgram kSeccompFilters[8] = {\n";
  for (unsigned index = 0; index < 8; ++index) {
    const auto name = "kSeccompFilter" + std::to_string(index);
    text += "    {" + name + ", sizeof " + name + " / sizeof " + name + "[0]},\n";
  }
  text += "};\n";

  {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    std::vector<unsigned char> bpf;
    if (ctx == nullptr || !optimize(ctx) || !build_extract(ctx) || !export_bpf(ctx, bpf)) {
      std::fprintf(stderr, "gen_seccomp: cannot build the extract filter\n");
      return 1;
    }
    seccomp_release(ctx);
    text += "// kleened's archive extractor: allow all but kExtractDenied and kDenied.\n";
    text += bpf_array("kExtractFilter", bpf);
    text +=
        "inline constexpr SeccompProgram kExtractProgram = {kExtractFilter, sizeof "
        "kExtractFilter / sizeof kExtractFilter[0]};\n";
  }

  const std::string tmp_path = std::string(argv[1]) + ".tmp";
  std::FILE* out = std::fopen(tmp_path.c_str(), "w");
  if (out == nullptr || std::fwrite(text.data(), 1, text.size(), out) != text.size() ||
      std::fclose(out) != 0 || std::rename(tmp_path.c_str(), argv[1]) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  return 0;
}
