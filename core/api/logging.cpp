#include "api/logging.hpp"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace kleene::api {
namespace {

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::debug:
      return spdlog::level::debug;
    case config::LogLevel::info:
    case config::LogLevel::notice:
      return spdlog::level::info;
    case config::LogLevel::warning:
      return spdlog::level::warn;
    case config::LogLevel::error:
      return spdlog::level::err;
    case config::LogLevel::critical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

}  // namespace

Result<void> setup_logging(const config::DaemonConfig& config, bool to_stderr) {
  std::vector<spdlog::sink_ptr> sinks;
  if (config.enable_logging) {
    std::error_code ec;
    std::filesystem::create_directories(config.log_file.parent_path(), ec);
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          config.log_file.string(), 10 * 1024 * 1024, 5));
    } catch (const spdlog::spdlog_ex& e) {
      return make_error(EIO, "log_file " + config.log_file.string() + ": " + e.what());
    }
  }
  if (to_stderr) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>("kleened", sinks.begin(), sinks.end());
  logger->set_level(to_spdlog(config.log_level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%f %l [%t] %v");
  // Low volume; flushing every line keeps the file useful after a crash.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

}  // namespace kleene::api
