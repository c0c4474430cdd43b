// Warming a container's first start. A zfs-fuse clone's files are inodes of their own, so the
// first start of a new container looks up and reads its program, the program's interpreter,
// /etc/passwd and /etc/group through FUSE, request after request, on the start's critical path.
// Right after a create, kleened reads them ahead on a thread of its own, while the client's next
// requests and the keeper's start go on (bench/README.md has the measurements).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace kleene::container {

// At most this much of each file is read ahead.
inline constexpr std::size_t kWarmMaxBytes = std::size_t{16} << 20;
// Read-aheads running at once; beyond, a create reads nothing ahead.
inline constexpr std::size_t kWarmAtOnce = 2;
inline constexpr std::chrono::seconds kWarmUpWaitBound{10};

// Reads ahead into the page cache (posix_fadvise WILLNEED) what a start of `argv` with `env` in
// the root `rootfs` reads first: the program (where the execution looks for it: the PATH of
// `env`), its interpreter (an ELF's PT_INTERP or a script's "#!" program; one level),
// /etc/passwd and /etc/group. Every path is resolved inside the root (openat2 RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS: an image's symlinks stay inside it), and only regular files are opened
// for reading (no FIFO, no device). Returns the paths read ahead; errors are not reported.
std::vector<std::string> warm_start_files(const std::filesystem::path& rootfs,
                                          const std::vector<std::string>& argv,
                                          const std::vector<std::string>& env);

// warm_start_files on a thread of its own (detached) for the container whose dataset is
// `dataset`, unless kWarmAtOnce run already (then nothing is read ahead).
void warm_start_files_in_background(std::string dataset, std::filesystem::path rootfs,
                                    std::vector<std::string> argv, std::vector<std::string> env);

// Returns once no warm-up of `dataset` runs: before it is unmounted, destroyed or renamed (an open
// file would make zfs call it busy). At most kWarmUpWaitBound: a wedged zfs-fuse can hold a read
// forever, and the unmount after it then fails as it would anyway.
void wait_for_warm_up(const std::string& dataset);

}  // namespace kleene::container
