// kleene_zfs_service start|stop: the ctest fixture `zfs`. `start` makes ZFS answer for a whole
// ctest run (starting zfs-fuse once if nothing serves ZFS); `stop` stops that zfs-fuse again
// once no pool is left. Tests that declare FIXTURES_REQUIRED zfs thus share one zfs-fuse
// instead of each TestPool starting and stopping its own.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "support/zfs_daemon.hpp"

int main(int argc, char** argv) {
  using namespace kleene::test;
  const std::string_view command = argc == 2 ? argv[1] : "";
  if (command != "start" && command != "stop") {
    std::cerr << "usage: kleene_zfs_service start|stop\n";
    return 2;
  }
  auto lock = detail::ServiceLock::acquire();
  if (!lock) {
    std::cerr << lock.error().message << "\n";
    return 1;
  }
  ZfsTools tools;
  if (command == "start") {
    char scratch[] = "/tmp/kltest-zfs.XXXXXX";  // for zfs-fuse's own pidfile, read at once
    if (::mkdtemp(scratch) == nullptr) {
      std::cerr << "mkdtemp: " << std::strerror(errno) << "\n";
      return 1;
    }
    auto started = detail::ensure_zfs_service(tools, scratch, detail::kFixturePidfile);
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
    if (!started) {
      std::cerr << started.error().message << "\n";
      return 1;
    }
    std::cout << (*started ? "started zfs-fuse, pid " + std::to_string(*started)
                           : std::string("ZFS is already served"))
              << "\n";
    return 0;
  }
  if (!detail::stop_zfs_fuse_if_idle(tools, detail::kFixturePidfile)) {
    auto pools = run_tool({tools.zpool, "list", "-H", "-o", "name"});
    std::cout << "zfs-fuse left running: pools remain: " << (pools ? *pools : "?") << "\n";
  }
  return 0;
}
