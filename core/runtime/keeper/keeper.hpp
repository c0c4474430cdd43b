// kleene-keeper internals: one keeper per running container (see docs/runtime.md).
// Single-threaded: one poll loop over the listening socket, a signalfd, the init's control
// socket and every execution's stdio and client connection.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/spec.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::keeper {

// keeper.log in the container's run dir (never the container's stdio).
void open_log(int dir_fd);
void log(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Unmap our text pages once set-up is done (re-faulted on use): keeps the RSS of a keeper and
// an init to what their loops touch.
void drop_startup_text();

// Messages on the keeper <-> init control socket (SOCK_SEQPACKET, one byte each, except kPersist
// which is followed by a flag byte in the same packet).
enum InitMessage : char {
  kInitReady = 'R',  // init -> keeper: the container is set up (else kInitFailed + text)
  kInitFailed = 'F',
  kInitCheck = 'C',    // keeper -> init: an execution ended; end now if nothing is left
  kInitAlive = 'A',    // init -> keeper: answers kInitCheck
  kInitEnding = 'E',   //   ... or: nothing is left, the init exits
  kInitTerm = 'T',     // keeper -> init: SIGTERM everything, end once it is gone
  kInitKill = 'K',     // keeper -> init: SIGKILL everything and end now
  kInitPersist = 'P',  // keeper -> init: persist changed (flag byte follows)
};

// The container's init: pid 1 of the new pid namespace. Never returns.
[[noreturn]] void run_init(const runtime::ContainerSpec& spec, int control_fd, int cgroup_tasks_fd);

// The container's namespaces (opened from /proc/<init>/ns) and cgroup, for executions.
struct ContainerHandles {
  UniqueFd ipc, uts, net, cgroup, mnt;
  // <cgroup>/tasks, write-only. A freshly forked (single-threaded) child joins by writing "0"
  // there: moving one thread skips the kernel's global threadgroup lock, whose write side waits
  // for an RCU grace period (9-17 ms here) when no migration happened just before. Writing to
  // cgroup.procs took that wait on every container start.
  UniqueFd cgroup_tasks;
};

struct Stdio {
  bool tty = false;
  UniqueFd master;    // tty: the pty master (output and input)
  UniqueFd out_read;  // pipes: stdout+stderr
  UniqueFd in_write;  // pipes: stdin
};

// Fork an execution's process (the keeper has already joined the container's pid namespace
// for its children). Returns its host pid and the keeper's ends of its stdio.
Result<pid_t> spawn_execution(const runtime::ProcessSpec& process,
                              const runtime::JailParams& params, const ContainerHandles& handles,
                              Stdio& stdio);

}  // namespace kleene::keeper
