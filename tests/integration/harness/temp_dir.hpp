#pragma once

#include <string>

namespace kleene::it {

// A fresh directory under /tmp (mkdtemp), removed recursively on destruction. The name carries
// the "kleene-it-" prefix that the host-state check watches for leaks.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(const std::string& name) const;

 private:
  std::string path_;
};

// Writes `content` to `path` (truncating), failing the current test on error.
void write_file(const std::string& path, const std::string& content);
// Whole file as a string; empty when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace kleene::it
