#include "image/create/file_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

#include "util/unique_fd.hpp"

namespace kleene::image {
namespace {

constexpr std::size_t kChunk = 1 << 20;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class FileSource final : public ByteSource {
 public:
  FileSource(UniqueFd fd, uint64_t size) : fd_(std::move(fd)), size_(size), buffer_(kChunk, '\0') {}

  Result<std::string_view> read() override {
    for (;;) {
      const ssize_t n = ::read(fd_.get(), buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read");
      consumed_ += static_cast<uint64_t>(n);
      return std::string_view(buffer_.data(), static_cast<std::size_t>(n));
    }
  }
  uint64_t consumed() const override { return consumed_; }
  std::optional<uint64_t> size() const override { return size_; }

 private:
  UniqueFd fd_;
  uint64_t size_;
  std::string buffer_;
  uint64_t consumed_ = 0;
};

}  // namespace

std::optional<std::filesystem::path> file_url_path(std::string_view url) {
  constexpr std::string_view kScheme = "file://";
  if (url.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(url[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.starts_with("localhost/")) rest.remove_prefix(std::string_view("localhost").size());
  if (!rest.starts_with('/')) return std::filesystem::path();
  std::string decoded;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && hex_value(rest[i + 1]) >= 0 &&
        hex_value(rest[i + 2]) >= 0) {
      decoded += static_cast<char>(hex_value(rest[i + 1]) * 16 + hex_value(rest[i + 2]));
      i += 2;
    } else {
      decoded += rest[i];
    }
  }
  return std::filesystem::path(decoded);
}

Result<std::unique_ptr<ByteSource>> open_file(const std::filesystem::path& path) {
  if (path.empty() || !path.is_absolute()) {
    return make_error(ENOENT, "'" + path.string() + "' is not an absolute local path");
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return errno_error("could not open " + path.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path.string());
  if (!S_ISREG(st.st_mode)) return make_error(EINVAL, path.string() + " is not a regular file");
  return std::unique_ptr<ByteSource>(
      std::make_unique<FileSource>(std::move(fd), static_cast<uint64_t>(st.st_size)));
}

}  // namespace kleene::image
