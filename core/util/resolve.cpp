#include "util/resolve.hpp"

#include <algorithm>
#include <vector>

namespace kleene {

namespace {

std::string describe(std::string_view kind) {
  return kind.empty() ? std::string("object") : std::string(kind);
}

Result<std::size_t> ambiguous(std::string_view query, std::span<const Candidate> candidates,
                              std::vector<std::size_t> matches, std::string_view kind) {
  std::sort(matches.begin(), matches.end(),
            [&](std::size_t a, std::size_t b) { return candidates[a].id < candidates[b].id; });
  std::string message = "ambiguous ";
  if (!kind.empty()) message.append(kind).append(" ");
  message.append("identifier '").append(query).append("' matches: ");
  for (std::size_t i = 0; i < matches.size(); ++i) {
    const Candidate& c = candidates[matches[i]];
    if (i != 0) message += ", ";
    message += c.id;
    if (!c.name.empty()) message.append(" (").append(c.name).append(")");
  }
  return make_error(kErrAmbiguous, std::move(message));
}

// Indices of the candidates for which `match` holds.
template <typename Pred>
std::vector<std::size_t> matching(std::span<const Candidate> candidates, Pred match) {
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (match(candidates[i])) found.push_back(i);
  }
  return found;
}

}  // namespace

Result<std::size_t> resolve_index(std::string_view query, std::span<const Candidate> candidates,
                                  std::string_view kind) {
  if (!query.empty()) {
    // Each rule is tried in turn; a rule that matches several candidates is an error rather
    // than falling through, so a user never acts on an object they did not mean.
    const auto by_id = matching(candidates, [&](const Candidate& c) { return c.id == query; });
    if (by_id.size() == 1) return by_id.front();
    if (by_id.size() > 1) return ambiguous(query, candidates, by_id, kind);

    const auto by_name = matching(candidates, [&](const Candidate& c) { return c.name == query; });
    if (by_name.size() == 1) return by_name.front();
    if (by_name.size() > 1) return ambiguous(query, candidates, by_name, kind);

    const auto by_prefix = matching(
        candidates, [&](const Candidate& c) { return std::string_view(c.id).starts_with(query); });
    if (by_prefix.size() == 1) return by_prefix.front();
    if (by_prefix.size() > 1) return ambiguous(query, candidates, by_prefix, kind);
  }
  return make_error(ENOENT, "no such " + describe(kind) + ": " + std::string(query));
}

Result<std::string> resolve_id(std::string_view query, std::span<const Candidate> candidates,
                               std::string_view kind) {
  const std::size_t index = TRY(resolve_index(query, candidates, kind));
  return candidates[index].id;
}

}  // namespace kleene
