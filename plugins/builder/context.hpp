// The build context and COPY/ADD: .dockerignore, source resolution, copying into a container's
// root and the content digest the build cache keys on.
//
// Every path is hostile. Reads are resolved on the context fd with openat2 RESOLVE_BENEATH, so
// no `..` or symlink leaves the context; writes are resolved on the root fd with
// RESOLVE_IN_ROOT, so an image's symlinks (absolute, `../../..`, to /proc) stay inside the root,
// and the last component is never followed on create (a temporary name, then rename over it).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::builder {

// One component of a Docker glob (`*`, `?`, `[a-z]`, `[!x]`, `[^x]`, `\` escapes); `*` never
// matches `/`. EINVAL "syntax error in pattern" for a malformed class.
[[nodiscard]] Result<bool> glob_match(std::string_view pattern, std::string_view name);
[[nodiscard]] bool has_glob(std::string_view pattern);

// .dockerignore with Docker's semantics: `#` comment lines, blank lines skipped, patterns
// relative to the context root (a leading `/` dropped, cleaned like filepath.Clean), `**` for
// any number of directories, `!` exceptions, the last matching rule wins, and a pattern that
// matches a directory matches everything below it. Deciding a path costs at most (rule
// components x path components) component matches per rule, whatever the `**`s.
// Bounds on a .dockerignore: EFBIG ".dockerignore is larger than 1 MiB", E2BIG
// ".dockerignore has more than 10000 patterns".
inline constexpr std::size_t kMaxDockerignoreSize = std::size_t{1} << 20;
inline constexpr std::size_t kMaxIgnorePatterns = 10'000;
// Matching steps (characters, class members and `**` positions looked at) one set of rules may
// spend over a whole build: a 1 MiB file of `**` rules that never match, against a large deep
// context, would otherwise cost CPU-hours (rules x components x paths). Honest files spend tens
// of steps per path; the budget is tens of seconds of matching (2-4 ns a step here).
inline constexpr std::uint64_t kIgnoreMatchBudget = 10'000'000'000;
// Paths a COPY/ADD source glob may reach (directories walked and matches), symlink loops
// included.
inline constexpr std::size_t kMaxCopyMatches = 100'000;

class IgnoreRules {
 public:
  [[nodiscard]] static Result<IgnoreRules> parse(std::string_view text);

  // `path` is relative to the context ("a/b.txt"); "" (the root) is never ignored.
  [[nodiscard]] bool ignored(std::string_view path) const;
  // With exceptions, an ignored directory may still hold included files.
  [[nodiscard]] bool has_exceptions() const { return has_exceptions_; }
  // Whether an exception could match something below the directory `path`, so an ignored
  // directory must still be searched (else a huge ignored node_modules is never walked).
  [[nodiscard]] bool may_include_below(std::string_view path) const;
  [[nodiscard]] bool empty() const { return rules_.empty(); }
  // The two calls above count the matching steps they take. E2BIG ".dockerignore costs more
  // than ... matching steps to apply" once `budget` (kIgnoreMatchBudget by default) is spent:
  // walkers check it after each decision and stop.
  [[nodiscard]] Result<void> within_budget() const;
  void set_budget(std::uint64_t budget) { budget_ = budget; }
  [[nodiscard]] std::uint64_t spent() const { return spent_; }

 private:
  struct Rule {
    std::vector<std::string> parts;
    std::size_t fixed = 0;  // components other than `**`: the least a match needs
    bool exception = false;
    bool double_star = false;
  };
  std::vector<Rule> rules_;
  bool has_exceptions_ = false;
  std::uint64_t budget_ = kIgnoreMatchBudget;
  mutable std::uint64_t spent_ = 0;  // one build's walks run one after the other
};

// Reads <context>/.dockerignore; no file gives no rules.
[[nodiscard]] Result<IgnoreRules> load_dockerignore(int context_fd);

// The whole of the regular file `fd` (opened with O_NONBLOCK, so a FIFO or device planted in a
// context or an image never blocks the build). EINVAL "<name> is not a regular file", EFBIG
// beyond `limit` bytes.
[[nodiscard]] Result<std::string> read_regular_file(int fd, std::string_view name,
                                                    std::size_t limit);

// Open `path` (relative; a leading `/` means the context root) below the context, following
// symlinks that stay inside it. O_CLOEXEC is added. EPERM "forbidden path outside the build
// context: <path>" for `..` or a symlink leading out; other errors name the path.
[[nodiscard]] Result<UniqueFd> open_in_context(int context_fd, std::string_view path, int flags);

// Open `path` (absolute or relative, both from the root) inside a container root: `..` and
// symlinks, absolute ones included, are resolved as if `root_fd` were `/`. O_CLOEXEC is added.
[[nodiscard]] Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags);

struct CopySource {
  std::string path;  // relative to the context, lexically cleaned; "" is the context root
  bool directory = false;
};

struct CopyPlan {
  std::vector<CopySource> sources;  // in argument order, each pattern's matches sorted
  std::string destination;          // absolute and cleaned, in the container ("/app/x")
  bool into_directory = false;      // the sources go inside `destination`
};

// Resolve COPY's `sources` (globs relative to the context) and `destination` (relative to
// `workdir`) with Docker's rules. `instruction` ("COPY", "ADD") is used in the messages:
//   ENOENT "COPY failed: file not found in build context or excluded by .dockerignore: stat
//          <src>: file does not exist"
//   ENOENT "COPY failed: no source files were specified" (a wildcard matching nothing)
//   EPERM  "COPY failed: forbidden path outside the build context: <src>"
//   EINVAL "When using COPY with more than one source file, the destination must be a
//          directory and end with a /"
[[nodiscard]] Result<CopyPlan> plan_copy(int context_fd, std::span<const std::string> sources,
                                         std::string_view destination, std::string_view workdir,
                                         const IgnoreRules& ignore,
                                         std::string_view instruction = "COPY");

struct CopyOwner {
  uid_t uid = 0;  // Docker: root unless --chown
  gid_t gid = 0;
};

// Copy the plan's sources into the container root `root_fd`. A directory source copies its
// contents; files keep their permission bits and sticky bit (setuid/setgid dropped); symlinks
// are copied as symlinks; sockets, fifos and devices inside a directory are skipped. Missing
// parents are created (0755). Everything written is owned by `owner`.
[[nodiscard]] Result<void> copy_into_root(int context_fd, const CopyPlan& plan, int root_fd,
                                          const IgnoreRules& ignore, const CopyOwner& owner = {});

// "sha256:<hex>" over the resolved sources: paths, types, modes (as copied), contents and
// symlink targets, in copy order. Equal for equal content, whatever the timestamps.
[[nodiscard]] Result<std::string> content_digest(int context_fd, const CopyPlan& plan,
                                                 const IgnoreRules& ignore);

}  // namespace kleene::builder
