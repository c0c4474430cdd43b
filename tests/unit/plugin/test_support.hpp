// Helpers shared by the plugin tests: fixture paths and capturing kleened's log.
#pragma once

#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <stdlib.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace kleene::plugin::test {

inline std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(KLEENE_FIXTURE_DIR) / (name + ".so");
}

inline std::filesystem::path built_plugin(const std::string& file) {
  return std::filesystem::path(KLEENE_BUILT_PLUGIN_DIR) / file;
}

// A directory under /tmp (mkdtemp), removed with its content when the object goes.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/kl-plugin-test-XXXXXX";
    if (mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Routes the default spdlog logger into a string for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("kleene-test", sink);
    logger->set_level(spdlog::level::trace);
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(stream_.str());
    for (std::string line; std::getline(in, line);)
      result.push_back(line);
    return result;
  }
  // The lines at `level` ("warning", "info", ...).
  std::vector<std::string> lines(const std::string& level) const {
    std::vector<std::string> result;
    for (auto& line : lines()) {
      if (line.rfind(level + " ", 0) == 0) result.push_back(line);
    }
    return result;
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace kleene::plugin::test
