#include "util/strings.hpp"

#include <unordered_map>

namespace kleene {

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  for (;;) {
    const auto pos = text.find(sep);
    parts.emplace_back(text.substr(0, pos));
    if (pos == std::string_view::npos) return parts;
    text.remove_prefix(pos + 1);
  }
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

std::vector<std::string> merge_env(std::vector<std::string> base,
                                   const std::vector<std::string>& over) {
  const auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  std::unordered_map<std::string, std::size_t> index;
  index.reserve(base.size() + over.size());
  for (std::size_t i = 0; i < base.size(); ++i)
    index.try_emplace(std::string(name_of(base[i])), i);
  for (const auto& entry : over) {
    const auto [it, added] = index.try_emplace(std::string(name_of(entry)), base.size());
    if (added)
      base.push_back(entry);
    else
      base[it->second] = entry;
  }
  return base;
}

}  // namespace kleene
