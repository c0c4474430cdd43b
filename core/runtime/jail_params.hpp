// Kleene's jail parameters (`-J`, ContainerConfig.jail_param) mapped to Linux. The table, the
// parser and what can change live. docs/jail-parameters.md is the user-facing copy of the table.
// Owner: sandbox (core/runtime/sandbox/jail_params.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace kleene::runtime {

struct JailParams {
  bool devfs = true;         // mount.devfs (default) / mount.nodevfs
  bool clean_env = true;     // exec.clean (default) / exec.noclean
  std::string jail_user;     // exec.jail_user=USER ("" = not set)
  std::string hostname;      // host.hostname=NAME ("" = the container id)
  bool raw_sockets = false;  // allow.raw_sockets: CAP_NET_RAW + ping sockets allowed
  bool sysvipc = false;      // allow.sysvipc: SysV IPC syscalls allowed (own IPC ns either way)
  bool mlock = false;        // allow.mlock: CAP_IPC_LOCK + mlock family allowed
  bool chflags = false;      // allow.chflags: CAP_LINUX_IMMUTABLE (chattr +i/+a)
  bool persist = false;      // persist: the container lives with no process in it
  std::vector<std::string> exec_start;  // exec.start=CMD: run in the container (sh -c) after start
  std::vector<std::string> exec_stop;   // exec.stop=CMD: run in the container before stop
  std::vector<std::string> exec_prestart;  // exec.prestart=CMD: run on the host before start
  std::vector<std::string> exec_poststop;  // exec.poststop=CMD: run on the host after stop
};

// One supported parameter: its name, whether it takes a value, what it does on Linux, and
// whether a change applies to a running container.
struct JailParamInfo {
  std::string_view name;
  bool takes_value;
  bool live;
  std::string_view linux_meaning;
};
const std::vector<JailParamInfo>& supported_jail_params();

// Parse Kleene's "name[=value]" strings (later entries win; list-valued ones append). An
// unsupported name is EINVAL "unsupported jail parameter 'x'; supported: a, b, ...".
Result<JailParams> parse_jail_params(const std::vector<std::string>& params);

// The names of parameters whose values differ between a and b and that need a restart.
std::vector<std::string> params_needing_restart(const JailParams& a, const JailParams& b);

}  // namespace kleene::runtime
