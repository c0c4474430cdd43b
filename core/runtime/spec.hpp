// What kleened asks the runtime for: a container (its root, mounts, namespaces, limits) and
// processes inside it. Plain data; serialised between kleened and the keeper by
// runtime/protocol.hpp (binary frames).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runtime/jail_params.hpp"

namespace kleene::runtime {

// A bind mount into the container. The destination is resolved inside the rootfs without
// leaving it (openat2 RESOLVE_IN_ROOT); a missing directory target is created (a file target,
// when the source is a file).
struct MountSpec {
  std::filesystem::path source;  // absolute host path (volume mountpoint or host dir/file)
  std::string destination;       // absolute path inside the container
  bool read_only = false;
};

struct ContainerSpec {
  std::string id;                // container id; also the keeper's and cgroup's name
  std::filesystem::path rootfs;  // the container dataset's mountpoint on the host
  std::string hostname;          // host.hostname, else the id
  std::vector<MountSpec> mounts;
  JailParams params;
  bool own_network = true;  // false for the `host` driver: share the host netns
  int pids_limit = 4096;    // pids cgroup limit (0 = none)
};

struct ProcessSpec {
  std::string exec_id;            // kleened's execution-instance id
  std::vector<std::string> argv;  // argv[0] is looked up in PATH of `env` if not absolute
  std::vector<std::string> env;   // final "KEY=VALUE" list (already merged, see env.hpp)
  std::string user;               // "", "name", "uid", "uid:gid", "name:group" (resolved in
                                  // the container's /etc/passwd and /etc/group); "" = root
  std::string workdir = "/";
  bool tty = false;  // a pty (the keeper holds the master) instead of pipes
};

}  // namespace kleene::runtime
