// Users and groups of the container, from its own /etc/passwd and /etc/group (never NSS: the
// keeper is static and the host's databases are not the container's).
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "runtime/sandbox/internal.hpp"
#include "util/openat2.hpp"
#include "util/unique_fd.hpp"

namespace kleene::runtime::sandbox {
namespace {

constexpr std::size_t kMaxDatabase = 4 << 20;  // a hostile image must not make us read forever
constexpr unsigned long kMaxId = 2147483647;

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
};

struct GroupEntry {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;
};

std::optional<unsigned long> parse_id(std::string_view text) {
  unsigned long value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value > kMaxId) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = text.find(sep, start);
    out.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// The file's content, or "" when it does not exist inside the root.
Result<std::string> read_in_root(int root_fd, const char* path) {
  UniqueFd fd(util::openat2_retrying(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK,
                                     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return std::string();
    return errno_error(std::string("open ") + path);
  }
  std::string out;
  char buf[8192];
  while (out.size() < kMaxDatabase) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(std::string("read ") + path);
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (auto line : split(text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    const auto f = split(line, ':');
    if (f.size() < 7) continue;
    const auto uid = parse_id(f[2]);
    const auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    out.push_back({std::string(f[0]), static_cast<uid_t>(*uid), static_cast<gid_t>(*gid),
                   std::string(f[5]), std::string(f[6])});
  }
  return out;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> out;
  for (auto line : split(text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    const auto f = split(line, ':');
    if (f.size() < 4) continue;
    const auto gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry entry{std::string(f[0]), static_cast<gid_t>(*gid), {}};
    for (auto member : split(f[3], ','))
      if (!member.empty()) entry.members.emplace_back(member);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

Result<Credentials> resolve_user_at(const std::filesystem::path& root, std::string_view user) {
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return errno_error("open " + root.string());
  const auto passwd = parse_passwd(TRY(read_in_root(root_fd.get(), "/etc/passwd")));

  const auto colon = user.find(':');
  const std::string_view user_part = user.substr(0, colon);
  const std::optional<std::string_view> group_part =
      colon == std::string_view::npos ? std::nullopt : std::optional(user.substr(colon + 1));

  Credentials who;
  const PasswdEntry* entry = nullptr;
  if (user_part.empty()) {
    auto it = std::ranges::find_if(passwd, [](const auto& e) { return e.uid == 0; });
    if (it != passwd.end()) entry = &*it;
  } else if (const auto uid = parse_id(user_part)) {
    auto it = std::ranges::find_if(passwd, [&](const auto& e) { return e.uid == *uid; });
    if (it != passwd.end()) {
      entry = &*it;
    } else {
      who.uid = static_cast<uid_t>(*uid);
      who.name = std::string(user_part);
    }
  } else {
    auto it = std::ranges::find_if(passwd, [&](const auto& e) { return e.name == user_part; });
    // Kleene's images say "root" by default: an image without it in /etc/passwd (or without
    // /etc/passwd at all) still runs, as root, like the empty user.
    if (it == passwd.end() && user_part == "root")
      return resolve_user_at(root, group_part ? ":" + std::string(*group_part) : "");
    if (it == passwd.end())
      return make_error(ENOENT, "unable to find user " + std::string(user_part) +
                                    ": no matching entries in passwd file");
    entry = &*it;
  }
  if (entry != nullptr) {
    who.uid = entry->uid;
    who.gid = entry->gid;
    who.name = entry->name;
    if (!entry->home.empty()) who.home = entry->home;
    if (!entry->shell.empty()) who.shell = entry->shell;
  }

  const auto groups = parse_group(TRY(read_in_root(root_fd.get(), "/etc/group")));
  if (group_part) {
    if (const auto gid = parse_id(*group_part)) {
      who.gid = static_cast<gid_t>(*gid);
    } else {
      auto it = std::ranges::find_if(groups, [&](const auto& g) { return g.name == *group_part; });
      if (it == groups.end())
        return make_error(ENOENT, "unable to find group " + std::string(*group_part) +
                                      ": no matching entries in group file");
      who.gid = it->gid;
    }
  }
  if (entry != nullptr) {
    for (const auto& g : groups) {
      if (std::ranges::find(g.members, who.name) != g.members.end() &&
          std::ranges::find(who.groups, g.gid) == who.groups.end())
        who.groups.push_back(g.gid);
    }
  }
  return who;
}

Result<Credentials> resolve_user(std::string_view user) {
  return resolve_user_at("/", user);
}

}  // namespace kleene::runtime::sandbox
