// Capabilities through the raw syscalls (capset, prctl): no libcap in the static keeper.
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <utility>

#include "runtime/sandbox/internal.hpp"

namespace kleene::runtime::sandbox {
namespace {

// The default allow-list (Docker's defaults minus AUDIT_WRITE, MKNOD, NET_RAW: as in a jail).
constexpr std::array<std::pair<int, const char*>, 11> kDefault{{
    {CAP_CHOWN, "CAP_CHOWN"},
    {CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"},
    {CAP_FOWNER, "CAP_FOWNER"},
    {CAP_FSETID, "CAP_FSETID"},
    {CAP_KILL, "CAP_KILL"},
    {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"},
    {CAP_SETFCAP, "CAP_SETFCAP"},
    {CAP_SETGID, "CAP_SETGID"},
    {CAP_SETPCAP, "CAP_SETPCAP"},
    {CAP_SETUID, "CAP_SETUID"},
    {CAP_SYS_CHROOT, "CAP_SYS_CHROOT"},
}};

constexpr std::uint64_t bit(int cap) {
  return std::uint64_t{1} << cap;
}

}  // namespace

std::vector<std::string> default_capabilities() {
  std::vector<std::string> out;
  for (const auto& [cap, name] : kDefault)
    out.emplace_back(name);
  return out;
}

std::uint64_t capability_mask(const JailParams& params) {
  std::uint64_t mask = 0;
  for (const auto& [cap, name] : kDefault)
    mask |= bit(cap);
  if (params.raw_sockets) mask |= bit(CAP_NET_RAW);
  if (params.mlock) mask |= bit(CAP_IPC_LOCK);
  if (params.chflags) mask |= bit(CAP_LINUX_IMMUTABLE);
  return mask;
}

Result<void> drop_bounding_set(std::uint64_t mask) {
  for (int cap = 0; cap < 64; ++cap) {
    const int in_set = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in_set < 0) break;  // EINVAL: past the kernel's last capability
    if (in_set == 1 && (mask & bit(cap)) == 0 && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      return errno_error("drop capability " + std::to_string(cap) + " from the bounding set");
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return errno_error("clear the ambient capabilities");
  return {};
}

Result<void> set_capabilities(std::uint64_t mask) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, 2> data{};
  if (::syscall(SYS_capget, &header, data.data()) != 0) return errno_error("capget");
  const std::uint64_t permitted =
      (std::uint64_t{data[1].permitted} << 32 | data[0].permitted) & mask;
  const std::uint64_t wanted = ::geteuid() == 0 ? permitted : 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto word = static_cast<std::uint32_t>(wanted >> (32 * i));
    data[i].permitted = word;
    data[i].effective = word;
    data[i].inheritable = 0;
  }
  if (::syscall(SYS_capset, &header, data.data()) != 0) return errno_error("capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return errno_error("clear the ambient capabilities");
  return {};
}

Result<void> keep_only_capabilities(std::uint64_t mask) {
  TRY(drop_bounding_set(mask));
  TRY(set_capabilities(mask));
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_error("set no_new_privs");
  return {};
}

}  // namespace kleene::runtime::sandbox
