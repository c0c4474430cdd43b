// .dockerignore, globs, fd-relative opens and COPY source/destination resolution.
#include "builder/context.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <optional>

#include "util/openat2.hpp"
#include "util/strings.hpp"

namespace kleene::builder {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// An input path as shown in an error: at most its first 64 bytes.
std::string shown(std::string_view path) {
  return path.size() > 64 ? std::string(path.substr(0, 64)) + "..." : std::string(path);
}

std::string too_large() {
  return ".dockerignore is larger than " + std::to_string(kMaxDockerignoreSize >> 20) + " MiB";
}

// Lexical clean of a relative path: "", "." dropped, ".." pops. nullopt when `..` would leave
// the top.
std::optional<std::vector<std::string>> clean_parts(std::string_view path) {
  std::vector<std::string> parts;
  for (auto& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
      continue;
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

// Validates a glob component; the matcher below may then assume it is well formed.
Result<void> check_glob(std::string_view p) {
  const auto bad = [] { return make_error(EINVAL, "syntax error in pattern"); };
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      if (++i == p.size()) return bad();
    } else if (p[i] == '[') {
      ++i;
      if (i < p.size() && (p[i] == '!' || p[i] == '^')) ++i;
      bool empty = true;
      for (; i < p.size() && p[i] != ']'; ++i) {
        if (p[i] == '\\' && ++i == p.size()) break;
        empty = false;
      }
      if (i >= p.size() || empty) return bad();
    }
  }
  return {};
}

// `p[i]` is just after '['. Returns whether `c` is in the class; `i` ends after the ']'.
bool match_class(std::string_view p, std::size_t& i, char c) {
  bool negate = false;
  if (p[i] == '!' || p[i] == '^') {
    negate = true;
    ++i;
  }
  bool found = false;
  while (p[i] != ']') {
    char lo = p[i] == '\\' ? p[++i] : p[i];
    ++i;
    char hi = lo;
    if (p[i] == '-' && p[i + 1] != ']') {
      ++i;
      hi = p[i] == '\\' ? p[++i] : p[i];
      ++i;
    }
    if (lo <= c && c <= hi) found = true;
  }
  ++i;
  return found != negate;
}

// Matches a validated glob component; `*` backtracks to the last star only (enough: a later
// star can absorb whatever an earlier one would have). Adds the steps it took (characters and
// class members looked at) to `steps`.
bool match_checked(std::string_view p, std::string_view s, std::uint64_t& steps) {
  std::size_t pi = 0, si = 0, star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    ++steps;
    if (pi < p.size()) {
      const char pc = p[pi];
      if (pc == '*') {
        star_p = ++pi;
        star_s = si;
        continue;
      }
      if (pc == '?' && s[si] != '/') {
        ++pi;
        ++si;
        continue;
      }
      if (pc == '[' && s[si] != '/') {
        std::size_t next = pi + 1;
        const bool in_class = match_class(p, next, s[si]);
        steps += next - pi;
        if (in_class) {
          pi = next;
          ++si;
          continue;
        }
      } else if (pc == '\\' ? p[pi + 1] == s[si] : (pc != '?' && pc != '[' && pc == s[si])) {
        pi += pc == '\\' ? 2 : 1;
        ++si;
        continue;
      }
    }
    if (star_p != std::string_view::npos && s[star_s] != '/') {
      pi = star_p;
      si = ++star_s;
      continue;
    }
    return false;
  }
  const std::size_t stars = pi;
  while (pi < p.size() && p[pi] == '*')
    ++pi;
  steps += pi - stars + 1;
  return pi == p.size();
}

bool match_checked(std::string_view p, std::string_view s) {
  std::uint64_t steps = 0;
  return match_checked(p, s, steps);
}

// Whether the pattern components match some leading components of the path (one or more):
// a pattern matching a directory matches everything below it. `**` matches any number of
// components. One pass over the pattern keeps the set of path positions its prefix can reach
// (`reach[j]`: pat[:i] matches path[:j]), so a rule costs O(pattern x path) component matches
// at most, whatever its `**`s, and stops as soon as no position is reachable.
bool match_leading(const std::vector<std::string>& pat, std::span<const std::string_view> path,
                   std::uint64_t& steps) {
  const std::size_t m = path.size();
  std::vector<char> reach(m + 1, 0), next(m + 1, 0);
  reach[0] = 1;
  for (const auto& part : pat) {
    bool any = false;
    if (part == "**") {
      // Zero or more components: every position at or after the first reachable one.
      char seen = 0;
      steps += m + 1;
      for (std::size_t j = 0; j <= m; ++j) {
        seen = static_cast<char>(seen | reach[j]);
        next[j] = seen;
      }
      any = seen != 0;
    } else {
      next[0] = 0;
      steps += m + 1;
      for (std::size_t j = 0; j < m; ++j) {
        next[j + 1] = static_cast<char>(reach[j] != 0 && match_checked(part, path[j], steps));
        any = any || next[j + 1] != 0;
      }
    }
    if (!any) return false;
    reach.swap(next);
  }
  return std::any_of(reach.begin() + 1, reach.end(), [](char c) { return c != 0; });
}

std::vector<std::string_view> path_parts(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = end + 1;
  }
  return parts;
}

Error outside(std::string_view instruction, std::string_view src) {
  return Error{EPERM, std::string(instruction) +
                          " failed: forbidden path outside the build context: " + std::string(src)};
}

Error not_found(std::string_view instruction, std::string_view src) {
  return Error{ENOENT,
               std::string(instruction) +
                   " failed: file not found in build context or excluded by .dockerignore: stat " +
                   std::string(src) + ": file does not exist"};
}

struct Expansion {
  int context_fd;
  const IgnoreRules& ignore;
  std::string_view instruction;
  std::string_view src;
  std::vector<CopySource> found;
  std::size_t visited = 0;  // paths the glob has reached, bounded by kMaxCopyMatches
};

Result<bool> is_directory(int context_fd, const std::string& path, Expansion& ex) {
  auto fd = open_in_context(context_fd, path, O_PATH);
  if (!fd) {
    if (fd.error().code == EPERM) return std::unexpected(outside(ex.instruction, ex.src));
    return std::unexpected(fd.error());
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return errno_error("stat " + path);
  return S_ISDIR(st.st_mode);
}

// Whether `path` is ignored, failing the instruction once the rules' matching budget is spent.
Result<bool> ignored_in_budget(const IgnoreRules& ignore, std::string_view path,
                               std::string_view instruction) {
  const bool ignored = ignore.ignored(path);
  if (auto budget = ignore.within_budget(); !budget)
    return make_error(E2BIG, std::string(instruction) + " failed: " + budget.error().message);
  return ignored;
}

// Expand parts[i:] below `prefix` (a clean context-relative path).
Result<void> expand(const std::vector<std::string>& parts, std::size_t i, const std::string& prefix,
                    Expansion& ex) {
  // Symlinks inside the context may loop (d/a -> .): `d/*/*/.../*` then reaches 2^stars paths.
  if (++ex.visited > kMaxCopyMatches) {
    return make_error(E2BIG, std::string(ex.instruction) + " failed: " + shown(ex.src) +
                                 " reaches more than " + std::to_string(kMaxCopyMatches) +
                                 " paths");
  }
  if (i == parts.size()) {
    if (TRY(ignored_in_budget(ex.ignore, prefix, ex.instruction))) return {};
    const bool dir = TRY(is_directory(ex.context_fd, prefix, ex));
    ex.found.push_back(CopySource{prefix, dir});
    return {};
  }
  const auto child = [&](std::string_view name) {
    return prefix.empty() ? std::string(name) : prefix + "/" + std::string(name);
  };
  if (!has_glob(parts[i])) {
    // Literal components are taken as is, like Go's Glob: all of them up to the next glob at
    // once, so the recursion is one level per glob component, not per component.
    std::string path = child(parts[i]);
    std::size_t next = i + 1;
    for (; next < parts.size() && !has_glob(parts[next]); ++next)
      path += "/" + parts[next];
    return expand(parts, next, path, ex);
  }
  auto dir = open_in_context(ex.context_fd, prefix, O_RDONLY | O_DIRECTORY);
  if (!dir) {
    if (dir.error().code == EPERM) return std::unexpected(outside(ex.instruction, ex.src));
    if (dir.error().code == ENOENT || dir.error().code == ENOTDIR) return {};
    return std::unexpected(dir.error());
  }
  DIR* stream = ::fdopendir(dir->get());
  if (stream == nullptr) return errno_error("opendir " + prefix);
  (void)dir->release();  // closedir closes it
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (match_checked(parts[i], name)) names.emplace_back(name);
  }
  ::closedir(stream);
  std::sort(names.begin(), names.end());
  for (const auto& name : names)
    TRY(expand(parts, i + 1, child(name), ex));
  return {};
}

}  // namespace

bool has_glob(std::string_view pattern) {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

Result<bool> glob_match(std::string_view pattern, std::string_view name) {
  TRY(check_glob(pattern));
  return match_checked(pattern, name);
}

Result<IgnoreRules> IgnoreRules::parse(std::string_view text) {
  IgnoreRules rules;
  if (text.size() > kMaxDockerignoreSize) return make_error(EFBIG, too_large());
  if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
  for (const auto& raw : split(text, '\n')) {
    std::string_view line = raw;
    if (line.starts_with('#')) continue;
    line = trim(line);
    if (line.empty()) continue;
    Rule rule;
    if (line.front() == '!') {
      rule.exception = true;
      line = trim(line.substr(1));
      if (line.empty()) return make_error(EINVAL, "illegal exclusion pattern: \"!\"");
    }
    // filepath.Clean, then relative to the root: "/a/../b/" -> "b". A `..` that would climb
    // above the root stays and matches nothing.
    for (auto& part : split(line, '/')) {
      if (part.empty() || part == ".") continue;
      if (part == ".." && !rule.parts.empty() && rule.parts.back() != "..") {
        rule.parts.pop_back();
        continue;
      }
      if (auto checked = check_glob(part); !checked) {
        return make_error(EINVAL, ".dockerignore: syntax error in pattern: " + std::string(line));
      }
      rule.parts.push_back(std::move(part));
    }
    if (rule.parts.empty()) continue;
    // `**/**` is `**`: collapsed, a rule of thousands of them costs what one does.
    rule.parts.erase(std::unique(rule.parts.begin(), rule.parts.end(),
                                 [](const std::string& a, const std::string& b) {
                                   return a == "**" && b == "**";
                                 }),
                     rule.parts.end());
    rule.fixed = static_cast<std::size_t>(std::count_if(rule.parts.begin(), rule.parts.end(),
                                                        [](const auto& p) { return p != "**"; }));
    rule.double_star = rule.fixed != rule.parts.size();
    if (rules.rules_.size() == kMaxIgnorePatterns) {
      return make_error(
          E2BIG, ".dockerignore has more than " + std::to_string(kMaxIgnorePatterns) + " patterns");
    }
    rules.has_exceptions_ = rules.has_exceptions_ || rule.exception;
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

bool IgnoreRules::ignored(std::string_view path) const {
  const auto parts = path_parts(path);
  if (parts.empty()) return false;
  // A rule matching the path or any of its parents decides; the last one to match wins, so
  // the rules are tried from the last one and the first match ends the search.
  for (auto rule = rules_.rbegin(); rule != rules_.rend(); ++rule) {
    ++spent_;
    // Each component other than `**` takes one path component.
    if (rule->fixed > parts.size()) continue;
    bool match = true;
    if (!rule->double_star) {
      // Without `**` only the prefix of the rule's length can match.
      for (std::size_t i = 0; i < rule->parts.size() && match; ++i)
        match = match_checked(rule->parts[i], parts[i], spent_);
    } else {
      match = match_leading(rule->parts, parts, spent_);
    }
    if (match) return !rule->exception;
  }
  return false;
}

bool IgnoreRules::may_include_below(std::string_view path) const {
  const auto parts = path_parts(path);
  for (const auto& rule : rules_) {
    ++spent_;
    if (!rule.exception) continue;
    if (rule.double_star) return true;
    // The rule's first components must match the directory, with some left for below it.
    if (rule.parts.size() <= parts.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < parts.size() && match; ++i)
      match = match_checked(rule.parts[i], parts[i], spent_);
    if (match) return true;
  }
  return false;
}

Result<void> IgnoreRules::within_budget() const {
  if (spent_ <= budget_) return {};
  return make_error(E2BIG, ".dockerignore costs more than " + std::to_string(budget_) +
                               " matching steps to apply (fewer `**` rules help)");
}

Result<std::string> read_regular_file(int fd, std::string_view name, std::size_t limit) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error("stat " + std::string(name));
  if (!S_ISREG(st.st_mode)) return make_error(EINVAL, std::string(name) + " is not a regular file");
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + std::string(name));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > limit)
      return make_error(EFBIG,
                        std::string(name) + " is larger than " + std::to_string(limit) + " bytes");
  }
  return text;
}

Result<IgnoreRules> load_dockerignore(int context_fd) {
  auto fd = open_in_context(context_fd, ".dockerignore", O_RDONLY | O_NONBLOCK);
  if (!fd) {
    if (fd.error().code == ENOENT) return IgnoreRules{};
    return std::unexpected(fd.error().wrap(".dockerignore"));
  }
  auto text = read_regular_file(fd->get(), ".dockerignore", kMaxDockerignoreSize);
  if (!text && text.error().code == EFBIG) return make_error(EFBIG, too_large());
  if (!text) return std::unexpected(text.error());
  return IgnoreRules::parse(*text);
}

Result<UniqueFd> open_in_context(int context_fd, std::string_view path, int flags) {
  const auto parts = clean_parts(path);
  if (!parts) {
    return make_error(EPERM, "forbidden path outside the build context: " + std::string(path));
  }
  const std::string clean = parts->empty() ? std::string(".") : join(*parts, "/");
  const int fd = util::openat2_retrying(context_fd, clean.c_str(), flags,
                                        RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0) return UniqueFd(fd);
  if (errno == EXDEV) {
    return make_error(EPERM, "forbidden path outside the build context: " + std::string(path));
  }
  return errno_error(std::string(path));
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags) {
  std::string relative(path);
  if (relative.find_first_not_of('/') == std::string::npos) relative = ".";
  const int fd = util::openat2_retrying(root_fd, relative.c_str(), flags,
                                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0) return UniqueFd(fd);
  return errno_error(std::string(path));
}

Result<CopyPlan> plan_copy(int context_fd, std::span<const std::string> sources,
                           std::string_view destination, std::string_view workdir,
                           const IgnoreRules& ignore, std::string_view instruction) {
  if (sources.empty() || destination.empty()) {
    return make_error(EINVAL, std::string(instruction) +
                                  " requires at least two arguments, but only one was provided. "
                                  "Destination could not be determined.");
  }
  CopyPlan plan;
  for (const auto& src : sources) {
    const auto parts = clean_parts(src);
    if (!parts) return std::unexpected(outside(instruction, src));
    std::size_t length = 0;
    for (const auto& part : *parts)
      length += part.size() + 1;
    if (length > PATH_MAX) {
      return make_error(ENAMETOOLONG,
                        std::string(instruction) + " failed: file name too long: " + shown(src));
    }
    for (const auto& part : *parts) {
      if (!check_glob(part)) return make_error(EINVAL, "syntax error in pattern: " + src);
    }
    Expansion ex{context_fd, ignore, instruction, src, {}};
    const bool wildcard =
        std::any_of(parts->begin(), parts->end(), [](const std::string& p) { return has_glob(p); });
    if (!wildcard) {
      const std::string path = join(*parts, "/");
      auto dir = is_directory(context_fd, path, ex);
      if (!dir) {
        if (dir.error().code == ENOENT || dir.error().code == ENOTDIR) {
          return std::unexpected(not_found(instruction, src));
        }
        return std::unexpected(dir.error());
      }
      if (TRY(ignored_in_budget(ignore, path, instruction)))
        return std::unexpected(not_found(instruction, src));
      plan.sources.push_back(CopySource{path, *dir});
      continue;
    }
    TRY(expand(*parts, 0, "", ex));
    if (ex.found.empty()) {
      return make_error(ENOENT,
                        std::string(instruction) + " failed: no source files were specified");
    }
    for (auto& found : ex.found)
      plan.sources.push_back(std::move(found));
  }

  // Destination: relative to WORKDIR; a trailing '/', '.' or '..' names a directory.
  const std::string_view last = destination.substr(destination.rfind('/') + 1);
  plan.into_directory = destination.ends_with('/') || last == "." || last == "..";
  std::string full(destination);
  if (!destination.starts_with('/')) {
    full = std::string(workdir.empty() ? "/" : workdir) + "/" + full;
  }
  std::vector<std::string> parts;
  for (auto& part : split(full, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();  // `/..` is `/`
      continue;
    }
    parts.push_back(std::move(part));
  }
  plan.destination = "/" + join(parts, "/");
  if (parts.empty()) plan.into_directory = true;
  if ((sources.size() > 1 || plan.sources.size() > 1) && !plan.into_directory) {
    return make_error(EINVAL, "When using " + std::string(instruction) +
                                  " with more than one source file, the destination must be a "
                                  "directory and end with a /");
  }
  return plan;
}

}  // namespace kleene::builder
