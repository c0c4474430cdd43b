// The config frames of kleened's WebSocket endpoints that are parsed by the endpoints
// themselves, and the exec's resize frame: plain functions over JSON, so tests/fuzz reaches them
// without a daemon (ws_config_fuzz.cpp). The messages are those of Kleene's close reasons.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "container/container.hpp"
#include "network/config.hpp"

namespace kleene::api {

// ExecStartConfig (/exec/start): all three fields, typed.
struct ExecStartConfig {
  std::string exec_id;
  bool attach = false;
  bool start_container = false;
};
// The reason it is invalid ("Missing field: attach", "exec_id: Invalid string"), or nothing.
[[nodiscard]] std::optional<std::string> parse_exec_start(const nlohmann::json& raw,
                                                          ExecStartConfig& config);

// ImageBuildConfig (/images/build), with what the builder plugin is asked.
struct BuildRequest {
  nlohmann::json plugin_request;
  container::ContainerConfig container_config;
  std::vector<network::EndPointConfig> networks;
  bool quiet = false;
  bool upload = false;  // the context comes in the WebSocket (docs/api.md, images/build)
};
[[nodiscard]] std::optional<std::string> parse_build_request(const nlohmann::json& raw,
                                                             BuildRequest& out);

// The payload of an exec's resize frame (`\x01` then {"rows":R,"cols":C}): both integers in
// 1..65535, else nothing (the frame is ignored).
[[nodiscard]] std::optional<std::pair<unsigned short, unsigned short>> parse_resize(
    std::string_view payload);

}  // namespace kleene::api
