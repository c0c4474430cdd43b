// Fuzzes .dockerignore parsing and matching (plugins/builder/context.hpp). The input is
// "<.dockerignore text>\0<path>\n<path>..."; without a NUL byte, the lines of the file are also
// the paths (patterns matched against themselves and their neighbours).
//
// Invariants, on top of ASan/UBSan:
//   - the root ("", ".", "/") is never ignored;
//   - without `!` exceptions: may_include_below() is false, and an ignored path ignores
//     everything below it ("a pattern that matches a directory matches everything below");
//   - glob_match of a pattern without glob characters or escapes is string equality, and `*`
//     matches exactly the names without '/';
//   - every rule line that parsed is a valid pattern for glob_match component by component.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "builder/context.hpp"
#include "fuzz_check.hpp"

namespace b = kleene::builder;

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= text.size() && out.size() < 256) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

void check_globs(std::string_view pattern, std::string_view name) {
  auto matched = b::glob_match(pattern, name);
  if (!matched) {
    KLEENE_FUZZ_CHECK(b::has_glob(pattern) || pattern.find('\\') != std::string_view::npos,
                      "a plain pattern is a syntax error: " + std::string(pattern));
    return;
  }
  if (!b::has_glob(pattern) && pattern.find('\\') == std::string_view::npos)
    KLEENE_FUZZ_CHECK(*matched == (pattern == name),
                      std::string(pattern) + " vs " + std::string(name));
  auto star = b::glob_match("*", name);
  KLEENE_FUZZ_CHECK(star && *star == (name.find('/') == std::string_view::npos), std::string(name));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  const std::string_view path_text = nul == std::string_view::npos ? input : input.substr(nul + 1);
  const auto paths = lines_of(path_text);
  const auto patterns = lines_of(text);

  // Globs on their own: pattern components against path components, a bounded number (the
  // cost of the cross product is the harness's, not the matcher's).
  std::vector<std::string_view> names;
  for (const auto& path_line : paths)
    for (const auto name : components(path_line))
      if (names.size() < 16) names.push_back(name);
  std::size_t globs = 0;
  for (const auto& pattern_line : patterns) {
    for (const auto pattern : components(pattern_line)) {
      if (++globs > 16) break;
      for (const auto name : names)
        check_globs(pattern, name);
    }
  }

  auto rules = b::IgnoreRules::parse(text);
  if (!rules) {
    KLEENE_FUZZ_CHECK(rules.error().code == EINVAL, rules.error().message);
    return 0;
  }
  for (const std::string_view root : {"", ".", "/", "./", "//"})
    KLEENE_FUZZ_CHECK(!rules->ignored(root), "the root is ignored");
  for (const auto path : paths) {
    const bool ignored = rules->ignored(path);
    const bool below = rules->may_include_below(path);
    if (!rules->has_exceptions()) {
      KLEENE_FUZZ_CHECK(!below, std::string(path));
      if (ignored) {
        const std::string child = std::string(path) + "/child";
        KLEENE_FUZZ_CHECK(rules->ignored(child), child);
        KLEENE_FUZZ_CHECK(rules->ignored(std::string(path) + "/"), std::string(path));
      }
    }
    // Spelling of the same path: a leading "./" and doubled slashes change nothing.
    KLEENE_FUZZ_CHECK(rules->ignored("./" + std::string(path)) == ignored, std::string(path));
  }
  return 0;
}
