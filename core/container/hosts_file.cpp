#include "container/hosts_file.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "util/openat2.hpp"
#include "util/random.hpp"
#include "util/unique_fd.hpp"

namespace kleene::container::hosts {

namespace {

constexpr std::size_t kMaxHostname = 253;
constexpr std::size_t kMaxLabel = 63;
constexpr int kTempAttempts = 4;

// An entry after validation: the address parsed (for numeric order) and printed canonically.
struct Line {
  int family = AF_INET;
  std::array<unsigned char, 16> bytes{};
  std::string address;
  std::vector<std::string> names;

  [[nodiscard]] auto key() const { return std::tie(family, bytes, names); }
};

bool parse_address(std::string_view text, Line& line) {
  if (text.find('\0') != std::string_view::npos) return false;
  const std::string address(text);  // inet_pton needs a NUL-terminated string
  char buffer[INET6_ADDRSTRLEN] = {};
  for (const int family : {AF_INET, AF_INET6}) {
    if (::inet_pton(family, address.c_str(), line.bytes.data()) != 1) continue;
    if (::inet_ntop(family, line.bytes.data(), buffer, sizeof buffer) == nullptr) return false;
    line.family = family;
    line.address = buffer;
    return true;
  }
  return false;
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool is_valid_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabel) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::ranges::all_of(label, is_label_char);
}

// The entry as a line of the file, or nothing when no part of it can be written safely.
std::optional<Line> clean(const Entry& entry) {
  Line line;
  if (!parse_address(entry.address, line)) return std::nullopt;
  for (const auto& name : entry.names) {
    if (!is_valid_hostname(name)) continue;
    if (std::ranges::find(line.names, name) != line.names.end()) continue;
    line.names.push_back(name);
  }
  if (line.names.empty()) return std::nullopt;
  return line;
}

void append(std::string& out, const Line& line) {
  out += line.address;
  out += '\t';
  for (std::size_t i = 0; i < line.names.size(); ++i) {
    if (i > 0) out += ' ';
    out += line.names[i];
  }
  out += '\n';
}

std::string temp_name() {
  std::array<std::byte, 8> random{};
  random_bytes(random);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = ".hosts.kleene-";
  for (const std::byte b : random) {
    name += kHex[std::to_integer<unsigned>(b) >> 4];
    name += kHex[std::to_integer<unsigned>(b) & 0xf];
  }
  return name;
}

// The container's /etc, resolved inside the root; an invalid fd when the image has none.
Result<UniqueFd> open_etc(int root) {
  const int fd = util::openat2_retrying(root, "etc", O_PATH | O_DIRECTORY,
                                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) {
    if (errno == ENOENT) return UniqueFd();
    return errno_error("open /etc in the container");
  }
  return UniqueFd(fd);
}

Result<void> write_all(int fd, std::string_view content, const std::string& name) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write /etc/" + name);
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Removes the temporary file unless the rename consumed it.
class TempFile {
 public:
  TempFile(int dir, std::string name) : dir_(dir), name_(std::move(name)) {}
  ~TempFile() {
    if (!name_.empty()) ::unlinkat(dir_, name_.c_str(), 0);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void keep() { name_.clear(); }

 private:
  int dir_;
  std::string name_;
};

Result<void> replace_hosts(int etc, std::string_view content) {
  std::string name;
  UniqueFd fd;
  // A name the container guessed beforehand only costs a retry (O_EXCL never reuses it).
  for (int attempt = 0; attempt < kTempAttempts && !fd; ++attempt) {
    name = temp_name();
    fd.reset(
        ::openat(etc, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd && errno != EEXIST) break;
  }
  if (!fd) return errno_error("create /etc/" + name);
  TempFile temp(etc, name);
  // The umask must not decide what the container's processes may read.
  if (::fchmod(fd.get(), 0644) != 0) return errno_error("chmod /etc/" + name);
  TRY(write_all(fd.get(), content, name));
  if (::close(fd.release()) != 0) return errno_error("close /etc/" + name);
  if (::renameat(etc, name.c_str(), etc, "hosts") != 0) {
    return errno_error("rename /etc/" + name + " to /etc/hosts");
  }
  temp.keep();
  return {};
}

}  // namespace

bool is_valid_address(std::string_view address) {
  Line line;
  return parse_address(address, line);
}

bool is_valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > kMaxHostname) return false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = name.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? name.size() : dot;
    if (!is_valid_label(name.substr(start, end - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string render(const std::vector<Entry>& self, const std::vector<Entry>& peers) {
  std::string out(kHeader);
  out += "127.0.0.1\tlocalhost\n";
  out += "::1\tlocalhost ip6-localhost ip6-loopback\n";

  std::set<std::tuple<int, std::array<unsigned char, 16>, std::vector<std::string>>> written;
  const auto emit = [&](const Line& line) {
    if (written.insert(line.key()).second) append(out, line);
  };
  for (const auto& entry : self) {
    if (auto line = clean(entry)) emit(*line);
  }
  std::vector<Line> sorted;
  for (const auto& entry : peers) {
    if (auto line = clean(entry)) sorted.push_back(std::move(*line));
  }
  std::ranges::sort(sorted, [](const Line& a, const Line& b) { return a.key() < b.key(); });
  for (const auto& line : sorted)
    emit(line);
  return out;
}

// Whether etc/hosts is a regular file holding exactly `content` (a start rewrites nothing then).
static bool holds(int etc, std::string_view content) {
  UniqueFd fd(::openat(etc, "hosts", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::size_t>(st.st_size) != content.size()) {
    return false;
  }
  std::string existing(content.size(), '\0');
  std::size_t got = 0;
  while (got < existing.size()) {
    const ssize_t n = ::read(fd.get(), existing.data() + got, existing.size() - got);
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return existing == content;
}

Result<void> write(const std::filesystem::path& rootfs, std::string_view content) {
  const auto failed = [&](const Error& error) {
    return std::unexpected(error.wrap("update /etc/hosts in " + rootfs.string()));
  };
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return failed(errno_error("open the root filesystem").error());
  auto etc = open_etc(root.get());
  if (!etc) return failed(etc.error());
  if (!etc->valid()) return {};  // no /etc in the image: nothing to update
  if (holds(etc->get(), content)) return {};
  if (auto replaced = replace_hosts(etc->get(), content); !replaced) {
    return failed(replaced.error());
  }
  return {};
}

}  // namespace kleene::container::hosts
