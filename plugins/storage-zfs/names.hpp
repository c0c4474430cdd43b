// Dataset and snapshot names as the plugin accepts them. They arrive from API bodies, so they
// are checked before they reach a zfs argv: a name can never be read as an option.
#pragma once

#include <string>
#include <string_view>

namespace kleene::zfs {

// pool[/component...]: components of [A-Za-z0-9_.:-], none empty, "." or "..", none starting
// with '-'; the pool starts with a letter; at most 255 characters.
bool is_dataset_name(std::string_view name);
// dataset@snapname, snapname of the same characters, not starting with '-'.
bool is_snapshot_name(std::string_view name);

// Throw sdk::Error(KLEENE_E_INVALID) unless the name is of the given kind.
void require_dataset(std::string_view name, std::string_view what);
void require_snapshot(std::string_view name, std::string_view what);
void require_dataset_or_snapshot(std::string_view name, std::string_view what);

std::string pool_of(std::string_view name);     // "zroot/kleene@x" -> "zroot"
std::string dataset_of(std::string_view name);  // "zroot/kleene@x" -> "zroot/kleene"

}  // namespace kleene::zfs
