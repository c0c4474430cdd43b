// The sandbox's internal pieces, shared by its sources and its tests (not part of the contract).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "runtime/sandbox.hpp"

namespace kleene::runtime::sandbox {

// resolve_user() against the /etc/passwd and /etc/group of the tree at `root`, read with
// openat2(RESOLVE_IN_ROOT) so a symlinked /etc/passwd in an image stays inside it.
Result<Credentials> resolve_user_at(const std::filesystem::path& root, std::string_view user);

// The capability set (a bit mask of CAP_* numbers) an execution gets with `params`.
std::uint64_t capability_mask(const JailParams& params);

// Bounding set reduced to `mask`, ambient cleared; after setuid: permitted/effective = `mask`
// for uid 0 and empty otherwise, inheritable empty.
Result<void> drop_bounding_set(std::uint64_t mask);
Result<void> set_capabilities(std::uint64_t mask);

// Install the pre-compiled seccomp filter for `params` (needs no_new_privs first).
Result<void> install_seccomp(const JailParams& params);
// That filter's instructions (tests).
std::span<const sock_filter> seccomp_program(const JailParams& params);

}  // namespace kleene::runtime::sandbox
