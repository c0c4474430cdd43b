// What the host knows about the ABI structs: operation fields by name, capability bit names,
// kinds. The single place to extend when abi.h gains a field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kleene/plugin/abi.h"
#include "plugin/registry.hpp"

namespace kleene::plugin::detail {

struct OpField {
  std::string_view name;  // the field name in the ops struct, e.g. "create_network"
  std::size_t offset;
};

// The operation fields of a kind's ops struct, in declaration order.
std::span<const OpField> op_fields(Kind kind);
// sizeof the host's ops struct for a kind.
std::size_t ops_struct_size(Kind kind);
// The kind for a kleene_plugin_kind value, or nullopt if unknown.
std::optional<Kind> kind_from_abi(uint32_t value);
// "connect_while_running", "ipv6", ... for the set bits (unknown bits are skipped).
std::vector<std::string> capability_names(uint64_t capabilities);

// The smallest descriptor the host accepts: every field of ABI 1.0 up to and including ops.
inline constexpr std::size_t kMinDescriptorSize =
    offsetof(kleene_plugin_descriptor, ops) + sizeof(kleene_plugin_descriptor::ops);
// Every ops struct starts with struct_size and reserved.
inline constexpr std::size_t kMinOpsSize = 2 * sizeof(uint32_t);

}  // namespace kleene::plugin::detail
