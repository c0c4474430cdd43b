// A temp dir for extraction tests: `root/` receives the archive, `outside/` holds sentinels
// that hostile members aim at. Removed with everything in it at the end.
#pragma once

#include <fcntl.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "util/unique_fd.hpp"

namespace kleene::image::test {

class TempTree {
 public:
  TempTree() {
    char tmpl[] = "/tmp/kl-extract.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::filesystem::create_directories(root());
    std::filesystem::create_directories(outside());
    std::ofstream(outside() / "secret") << "original";
  }
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path root() const { return dir_ / "root"; }
  std::filesystem::path outside() const { return dir_ / "outside"; }
  UniqueFd root_fd() const {
    return UniqueFd(::open(root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }

  // Every path in the temp dir outside root/, with the sentinel's content.
  std::set<std::string> outside_state() const {
    std::set<std::string> state;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_)) {
      auto rel = std::filesystem::relative(e.path(), dir_).string();
      if (rel == "root" || rel.starts_with("root/")) continue;
      state.insert(rel);
    }
    std::ifstream in(outside() / "secret");
    std::string content((std::istreambuf_iterator<char>(in)), {});
    state.insert("secret=" + content);
    return state;
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace kleene::image::test
