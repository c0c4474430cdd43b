// Identifier resolution for containers, images, networks, volumes, exec instances:
// what a user types ("web", "3f2a", "3f2a9c01b7de") -> one object.
#pragma once

#include <cerrno>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace kleene {

// The error code of an ambiguous identifier. Distinct from EINVAL/ENOENT so the API layer
// can map it on its own (Linux: "Name not unique on network").
inline constexpr int kErrAmbiguous = ENOTUNIQ;

struct Candidate {
  std::string id;
  std::string name;  // may be empty (never matched then)
};

// Order of precedence (Docker's): exact full id, then exact name, then unique id prefix.
// Returns the index into `candidates`.
// Errors: ENOENT "no such <kind>: <query>" (also for an empty query);
// kErrAmbiguous "ambiguous <kind> identifier '<query>' matches: <id> (<name>), ..." listing
// every match, sorted by id. `kind` (e.g. "container") defaults to "object" / "".
[[nodiscard]] Result<std::size_t> resolve_index(std::string_view query,
                                                std::span<const Candidate> candidates,
                                                std::string_view kind = {});

// Same, returning the id of the match.
[[nodiscard]] Result<std::string> resolve_id(std::string_view query,
                                             std::span<const Candidate> candidates,
                                             std::string_view kind = {});

}  // namespace kleene
